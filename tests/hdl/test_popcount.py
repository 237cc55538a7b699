"""The popcount adder tree in the Amaranth simulator against numpy, for every k from 1 to 20."""

import itertools
import re

import numpy as np
import pytest
from amaranth.hdl import ClockDomain, Module, Signal
from amaranth.sim import Simulator

from lgn_hw.hdl import Pipeline, Popcount, export, latency_of
from lgn_hw.hdl.popcount import Argmax, CounterPopcount, _counter_network
from lgn_hw.hdl.lint import lint, split_modules
from lgn_hw.hdl.popcount import _popcount_tree, _split
from lgn_hw.netlist import random_netlist

CLASSES = 4  # each class counts a different sample, so one cycle checks four samples


def _samples(k, rng):
    """Every k-bit input for small k (padded to whole cycles), else 256 random ones."""
    if k <= 8:
        rows = np.array(list(itertools.product((0, 1), repeat=k)), dtype=np.int64)
    else:
        rows = rng.integers(0, 2, (256, k))
        rows[0], rows[1] = 0, 1  # the extremes: no bit and every bit set
    pad = -len(rows) % CLASSES
    return np.concatenate([rows, rows[:pad]])


def _run(k, every, rows, block=Popcount):
    pc = block(CLASSES, k, every=every)
    w = pc.score_width
    cycles = rows.reshape(-1, CLASSES * k)
    words = [int("".join(str(b) for b in row[::-1]), 2) for row in cycles]
    got = []

    async def bench(ctx):
        for t in range(len(words) + pc.latency):
            ctx.set(pc.x, words[t] if t < len(words) else 0)
            if t >= pc.latency:
                got.append(ctx.get(pc.scores))
            await ctx.tick()

    top = Module()
    top.domains.sync = ClockDomain()
    top.submodules.pc = pc
    sim = Simulator(top)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    scores = [(s >> (c * w)) & ((1 << w) - 1) for s in got for c in range(CLASSES)]
    return pc, np.array(scores)


@pytest.mark.parametrize("every", [0, 1, 2])
@pytest.mark.parametrize("k", range(1, 21))
def test_popcount_matches_numpy(k, every):
    rows = _samples(k, np.random.default_rng(k))
    pc, scores = _run(k, every, rows)
    np.testing.assert_array_equal(scores, rows.sum(axis=1), err_msg=f"k={k} every={every}")
    assert pc.score_width == k.bit_length()
    assert pc.latency == (pc.levels // every if every else 0)


@pytest.mark.parametrize("k", [1, 2, 3, 4, 7, 8, 15, 16, 100, 1000, 100_000])
def test_tree_uses_every_bit_once_in_the_fewest_levels(k):
    nodes, root = _popcount_tree(k)
    children = [c for a, b, cin, _, _ in nodes[k:] for c in (a, b, cin) if c is not None]
    assert sorted(children + [root]) == list(range(len(nodes)))  # a tree over all k input bits
    assert nodes[root][4] == k
    # h levels of adders with a carry-in count at most 2**(h+1) - 1 bits.
    pc = Popcount(1, k, every=1)
    pc._MustUse__silence = True  # only its numbers are needed here
    assert nodes[root][3] == pc.levels
    assert 2 ** (nodes[root][3] + 1) - 1 >= k > 2 ** nodes[root][3] - 1


def _cheapest_exhaustive(n, height, memo={}):
    """The fewest adder output bits of any tree of at most ``height`` levels over ``n`` bits."""
    if n == 1:
        return 0
    if height == 0:
        return float("inf")
    if (n, height) not in memo:
        memo[n, height] = min(
            _cheapest_exhaustive(l, height - 1) + _cheapest_exhaustive(n - cin - l, height - 1) + n.bit_length()
            for cin in (0, 1) for l in range(1, n - cin))
    return memo[n, height]


def test_split_search_finds_the_cheapest_tree():
    # The search tries a few split points per node (it must scale to a million bits per
    # class); it still finds the cheapest tree of the fewest levels.
    for k in range(1, 200):
        assert _split(k, k.bit_length() - 1)[0] == _cheapest_exhaustive(k, k.bit_length() - 1), k


def test_latency_of_uses_the_popcount_levels():
    net = random_netlist(8, [12, 100 * 3], 3, seed=0)  # k = 100: 6 levels
    assert latency_of(net, Pipeline(1, 1, True))["popcount"] == 6
    assert latency_of(net, Pipeline(1, 2, True))["popcount"] == 3
    assert latency_of(net, Pipeline(1, 4, True))["popcount"] == 1
    assert latency_of(net, Pipeline(1, 0, True))["popcount"] == 0


@pytest.fixture(scope="module")
def wide_export(tmp_path_factory):
    # k = 100 per class: its tree adds counts of unequal width (1 + 3, 7 + 15, 15 + 31 bits),
    # as trained netlists' trees do; 2 x 3000 bits make the widest level thousands of bits.
    folder = tmp_path_factory.mktemp("popcount")
    export(random_netlist(8, [40, 300], 3, seed=3), folder / "k100")
    export(random_netlist(8, [6000], 2, seed=4), folder / "k3000", pipeline=Pipeline(1, 1, True))
    return folder


@pytest.mark.verilator  # tests/conftest.py skips it, with the reason, without Verilator
def test_uneven_adders_lint_clean(wide_export):
    # Before: WIDTHEXPAND "Operator ADD expects 5 bits on the LHS, but LHS's REPLICATE generates 3 bits".
    assert lint(wide_export / "k100").verilator


def test_popcount_lines_are_short_and_stages_named(wide_export):
    modules = split_modules((wide_export / "k3000" / "lgn_top.v").read_text())
    for name in ("lgn_top.popcount", "lgn_top.argmax"):
        longest = max(len(line) for line in modules[name].splitlines())
        assert longest < 4000, (name, longest)
    pc = modules["lgn_top.popcount"]
    # Per class, level and chunk of 64 tree nodes: c<class>_l<level>[_<chunk>].
    assert re.search(r"reg \[\d+:0\] c1_l1_15 ", pc) and re.search(r"reg \[\d+:0\] c0_l11 ", pc)
    assert re.search(r"reg \[\d+:0\] l1_c0_1 ", modules["lgn_top.argmax"])


# -- counters of LUT-sized functions (CounterPopcount, Pipeline(lut_size=6)) ------------------

# Exact plans (up to _EXACT_COUNTERS bits) and greedy ones beyond.
COUNTER_KS = list(range(1, 17)) + [20, 24, 31, 40, 41, 64, 100]


@pytest.mark.parametrize("every", [0, 1, 2])
@pytest.mark.parametrize("k", [1, 2, 3, 5, 7, 10, 15, 24, 41])  # the network itself: all of COUNTER_KS below
def test_counter_popcount_matches_numpy(k, every):
    rows = _samples(k, np.random.default_rng(k))
    pc, scores = _run(k, every, rows, CounterPopcount)
    np.testing.assert_array_equal(scores, rows.sum(axis=1), err_msg=f"k={k} every={every}")
    # The same ports and latency as the adder tree: the core's latency does not depend on the shape.
    tree = Popcount(CLASSES, k, every=every)
    tree._MustUse__silence = True
    assert (pc.score_width, pc.latency) == (tree.score_width, tree.latency)


@pytest.mark.parametrize("k", COUNTER_KS)
def test_counter_network_is_lut_sized_and_counts(k):
    """Every LUT of the network reads at most 6 signals, and the network, evaluated in Python
    over every input (k <= 12) or random ones, gives the popcount."""
    luts, outputs, depth = _counter_network(k, 6)
    assert all(1 <= len(inputs) <= 6 for inputs, _, _ in luts)
    assert len(outputs) == k.bit_length() and None not in outputs
    rng = np.random.default_rng(k)
    rows = (np.array(list(itertools.product((0, 1), repeat=k))) if k <= 12
            else rng.integers(0, 2, (2000, k)))
    values = list(rows.T) + [None] * len(luts)
    for i, (inputs, weights, bit) in enumerate(luts):
        values[k + i] = (sum(w * values[s] for s, w in zip(inputs, weights)) >> bit) & 1
    got = sum(values[s] << j for j, s in enumerate(outputs))
    np.testing.assert_array_equal(got, rows.sum(axis=1))
    assert all(depth[k + i] > max(depth[s] for s in inputs) for i, (inputs, _, _) in enumerate(luts))


def test_counter_plans_need_fewer_luts_than_adder_bits():
    # The plan's LUT count (one per counter output bit), against what the Xilinx 7 flow measured
    # for the adder tree (bench/overhead.py): 10 bits take 8 LUTs, not 12.
    assert [len(_counter_network(k, 6)[0]) for k in (6, 10, 15, 32)] == [3, 8, 12, 30]


@pytest.mark.parametrize("lut", [0, 2, 7, True, "6"])
def test_counter_popcount_rejects_bad_lut_sizes(lut):
    with pytest.raises(ValueError, match=r"^'lut' must be an integer from 3 to 6, not "):
        CounterPopcount(2, 10, every=1, lut=lut)


# -- the argmax ------------------------------------------------------------------------------------

@pytest.mark.parametrize("registered", [False, True])
@pytest.mark.parametrize("classes, width, lut", [(10, 4, 6), (10, 4, 0), (5, 4, 6), (3, 2, 6), (7, 5, 6)])
def test_argmax_matches_numpy_with_ties(classes, width, lut, registered):
    am = Argmax(classes, width, max(1, (classes - 1).bit_length()), registered=registered, lut=lut)
    assert am.lut == (lut if (width, lut) == (4, 6) else 0)  # the LUT compare only where it pays
    rng = np.random.default_rng(classes * width)
    scores = rng.integers(0, 1 << width, (300, classes))
    scores[::3] = rng.integers(0, 2, (100, classes)) * ((1 << width) - 1)  # many ties at the top
    words = [sum(int(s) << (c * width) for c, s in enumerate(row)) for row in scores]
    got = []

    async def bench(ctx):
        for t in range(len(words) + am.latency):
            ctx.set(am.scores, words[t] if t < len(words) else 0)
            if t >= am.latency:
                got.append((ctx.get(am.cls), ctx.get(am.scores_out)))
            await ctx.tick()

    top = Module()
    top.domains.sync = ClockDomain()
    top.submodules.am = am
    sim = Simulator(top)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    assert [c for c, _ in got] == np.argmax(scores, axis=1).tolist()  # lowest index on ties
    assert [s for _, s in got] == words


@pytest.mark.parametrize("width, lut", [(w, k) for w in range(1, 6) for k in (4, 5, 6)])
def test_lut_greater_is_greater(width, lut):
    from lgn_hw.hdl.popcount import _lut_greater

    m = Module()
    a, b = Signal(width), Signal(width)
    gt = _lut_greater(m, a, b, lut, "cmp")
    pairs = list(itertools.product(range(1 << width), repeat=2))
    got = []

    async def bench(ctx):
        for x, y in pairs:
            ctx.set(a, x)
            ctx.set(b, y)
            got.append(ctx.get(gt))

    sim = Simulator(m)
    sim.add_testbench(bench)
    sim.run()
    assert got == [int(x > y) for x, y in pairs]


def test_argmax_delay_lines_stay_flip_flops(tmp_path):
    # Yosys maps a chain of 3 or more plain registers to SRL16E shift registers on Xilinx
    # (45 of them in a 10-class core: a LUT each); the attributes keep them flip-flops.
    export(random_netlist(8, [12, 40], 10, seed=2), tmp_path, pipeline=Pipeline(lut_size=6))
    argmax = split_modules((tmp_path / "lgn_top.v").read_text())["lgn_top.argmax"]
    for reg in ("scores1", "scores2", "scores3", "scores_out", "l1_c8_9", "l2_c8_9", "l3_c8_9"):
        assert re.search(rf'\(\* keep = 32\'d1 \*\)\s*\(\* shreg_extract = "no" \*\)\s*(output \[\d+:0\] {reg};\s*)?'
                         rf'reg \[\d+:0\] {reg} ', argmax), reg
    assert re.search(r';\s*reg \[\d+:0\] l4_c0_9 ', argmax)  # no attribute on the last level: its unused bits go


def test_per_class_counter_modules_count_as_the_popcount_block():
    # CounterPopcount's classes are modules of their own (kept apart in synthesis); the
    # report counts their cells as the popcount's, not as the layers'.
    from lgn_hw.synth.report import split_cells

    stat = {"modules": {
        "\\top": {"num_cells_by_type": {"LUT6": 100, "\\top.popcount": 1}},
        "\\top.popcount": {"num_cells_by_type": {"\\top.popcount.c0": 1, "\\top.popcount.c1": 1}},
        "\\top.popcount.c0": {"num_cells_by_type": {"LUT6": 8, "FDRE": 4}},
        "\\top.popcount.c1": {"num_cells_by_type": {"LUT6": 7}},
    }}
    total, blocks = split_cells(stat, "top")
    assert blocks == {"layers": {"LUT6": 100}, "popcount": {"LUT6": 15, "FDRE": 4}}
    assert total == {"LUT6": 115, "FDRE": 4}
