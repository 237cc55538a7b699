"""The Amaranth core in the Amaranth simulator against the golden model."""

import numpy as np
import pytest
from amaranth.hdl import ClockDomain, Module
from amaranth.sim import Simulator

from lgn_hw import gates
from lgn_hw.hdl import GateLayer, LgnCore, Pipeline, latency_of
from lgn_hw.netlist import evaluate, random_netlist


def _word(bits):
    return int("".join(str(int(b)) for b in bits[::-1]), 2)


def simulate(net, pipeline, bits, *, valid_p=1.0, ready_p=1.0, seed=0, stall=0, reset_cycles=0,
             encoder="host"):
    """Drive the core cycle by cycle; returns (results, accept cycles, output cycles, in_ready trace)."""
    core = LgnCore(net, pipeline, encoder=encoder)
    rng = np.random.default_rng(seed)
    n = len(bits)
    words = [_word(row) for row in bits]
    log = {"results": [], "acc": [], "out": [], "ready": [], "out_valid": [], "out_ready": []}
    limit = 50 * n + 10 * core.latency + stall + 100

    async def bench(ctx):
        if reset_cycles:
            ctx.set(cd.rst, 1)
            ctx.set(core.in_valid, 1)
            for _ in range(reset_cycles):
                await ctx.tick()
            ctx.set(cd.rst, 0)
        sent = cycle = 0
        valid = False
        extra = 0
        while len(log["results"]) < n or extra < core.latency + 4:
            if len(log["results"]) >= n:
                extra += 1
            if not valid:  # AXI: valid and data hold until accepted
                valid = sent < n and rng.random() < valid_p
            ctx.set(core.in_valid, int(valid))
            ctx.set(core.in_data, words[sent] if sent < n else 0)
            ready = cycle >= stall and rng.random() < ready_p
            ctx.set(core.out_ready, int(ready))
            _, _, iv, ir, ov, orr, oc, os = await ctx.tick().sample(
                core.in_valid, core.in_ready, core.out_valid, core.out_ready,
                core.out_class, core.out_scores)
            log["ready"].append(ir)
            log["out_valid"].append(ov)
            log["out_ready"].append(orr)
            if iv and ir:
                log["acc"].append(cycle)
                sent += 1
                valid = False
            if ov and orr:
                log["results"].append((oc, os))
                log["out"].append(cycle)
            cycle += 1
            assert cycle < limit, f"stuck: {sent} sent, {len(log['results'])} results"

    top = Module()
    top.domains.sync = cd = ClockDomain()
    top.submodules.core = core
    sim = Simulator(top)
    sim.add_clock(1e-6)
    sim.add_testbench(bench)
    sim.run()
    return core, log


def check_results(net, bits, results):
    exp = evaluate(net, bits)
    w = net.score_width
    assert len(results) == len(bits), "lost or extra results"
    for i, (cls, scores) in enumerate(results):
        got = [(scores >> (c * w)) & ((1 << w) - 1) for c in range(net.num_classes)]
        assert got == exp.scores[i].tolist(), f"sample {i}: scores {got} != {exp.scores[i].tolist()}"
        assert cls == exp.classes[i], f"sample {i}: class {cls} != {exp.classes[i]}"


SHAPES = [
    # (num_inputs, widths, classes, pipeline)
    (5, [4], 1, Pipeline()),                                 # one class, k=4
    (7, [6], 2, Pipeline(0, 0, False)),                      # fully combinational datapath
    (9, [11, 13, 7, 10, 9], 3, Pipeline(2, 1, True)),        # 5 layers, odd widths, k=3
    (12, [20, 10], 10, Pipeline(1, 2, False)),               # 10 classes, k=1
    (6, [17, 30], 10, Pipeline(0, 1, True)),                 # 10 classes, k=3
    (10, [40, 44], 2, Pipeline(1, 0, True)),                 # k=22: 4 levels of adders
    (10, [40, 44], 2, Pipeline(1, 1, True, lut_size=6)),  # k=22 from LUT-6 counters
    (9, [11, 13, 7, 10, 9], 3, Pipeline(2, 1, True, stream="stall")),  # no FIFO: the pipeline stalls
    (7, [6], 2, Pipeline(0, 0, False, stream="stall")),      # stalls with no register but the input's
    (12, [20, 100], 10, Pipeline(lut_size=6, stream="stall")),  # both, 10 classes of 10 bits
]


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: f"in{s[0]}-{len(s[1])}L-C{s[2]}-{s[3]}")
def test_core_matches_golden_under_gaps_and_backpressure(shape):
    n_in, widths, classes, pipeline = shape
    net = random_netlist(n_in, widths, classes, seed=len(widths) * 7 + classes)
    bits = np.random.default_rng(1).integers(0, 2, (40, n_in))
    _, log = simulate(net, pipeline, bits, valid_p=0.6, ready_p=0.5, seed=2)
    check_results(net, bits, log["results"])


@pytest.mark.parametrize("shape", SHAPES[:4] + SHAPES[-3:], ids=lambda s: f"in{s[0]}-{len(s[1])}L-C{s[2]}-{s[3]}")
def test_exact_latency_with_out_ready_high(shape):
    n_in, widths, classes, pipeline = shape
    net = random_netlist(n_in, widths, classes, seed=3)
    bits = np.random.default_rng(4).integers(0, 2, (30, n_in))
    core, log = simulate(net, pipeline, bits, valid_p=0.7, ready_p=1.0, seed=5)
    check_results(net, bits, log["results"])
    assert [o - a for a, o in zip(log["acc"], log["out"])] == [core.latency] * len(bits)


def test_one_sample_per_clock_when_unstalled():
    net = random_netlist(8, [12, 9], 3, seed=6)
    bits = np.random.default_rng(7).integers(0, 2, (25, 8))
    core, log = simulate(net, Pipeline(), bits)
    check_results(net, bits, log["results"])
    assert np.all(np.diff(log["acc"]) == 1)
    assert np.all(np.diff(log["out"]) == 1)
    assert log["acc"][0] == 1  # in_ready rises one cycle after the core leaves reset


def test_long_stall_fills_fifo_and_loses_nothing():
    net = random_netlist(8, [12, 9], 3, seed=8)
    bits = np.random.default_rng(9).integers(0, 2, (40, 8))
    core, log = simulate(net, Pipeline(), bits, stall=3 * latency_of(net, Pipeline())["total"])
    check_results(net, bits, log["results"])
    # in_ready dropped: the credits stopped intake at the FIFO depth.
    assert len([c for c in log["acc"] if c < 3 * core.latency]) == core.fifo_depth
    assert 0 in log["ready"]


@pytest.mark.parametrize("pipeline", [Pipeline(stream="stall"), Pipeline(1, 1, False, stream="stall")])
def test_stall_stream_holds_results_and_loses_nothing(pipeline):
    # A consumer that waits: one sample per register enters, the results stay put, in_ready is
    # low exactly while a result waits (out_valid & ~out_ready, in the same cycle), and every
    # sample comes out once.
    net = random_netlist(8, [12, 9], 3, seed=8)
    bits = np.random.default_rng(9).integers(0, 2, (40, 8))
    latency = latency_of(net, pipeline)["total"]
    core, log = simulate(net, pipeline, bits, ready_p=0.4, seed=3, stall=3 * latency)
    check_results(net, bits, log["results"])
    assert core.fifo_depth == 0 and latency == core.latency
    assert len(log["acc"]) == len(bits) and len([c for c in log["acc"] if c < 3 * latency]) == latency
    assert log["ready"] == [int(not (v and not r)) for v, r in zip(log["out_valid"], log["out_ready"])]


def test_reset_holds_in_ready_low():
    net = random_netlist(4, [6], 2, seed=10)
    bits = np.random.default_rng(11).integers(0, 2, (5, 4))
    core, log = simulate(net, Pipeline(), bits, reset_cycles=3)
    check_results(net, bits, log["results"])
    assert log["acc"][0] == 1


def test_every_op_exhaustively():
    # 64 gates: every op on every pair of the 4 inputs' (a, b) positions; x = (a0, b0, a1, b1, ...).
    ops = np.repeat(np.arange(16), 2)
    a = np.tile([0, 2], 16)
    b = np.tile([1, 3], 16)
    layer = GateLayer(a, b, ops, 4, registered=False)
    seen = []

    async def bench(ctx):
        for xa in (0, 1):
            for xb in (0, 1):
                # a at bits 0 and 2, b at bits 1 and 3
                ctx.set(layer.x, xa | (xb << 1) | (xa << 2) | (xb << 3))
                y = ctx.get(layer.y)
                for g, op in enumerate(ops.tolist()):
                    assert (y >> g) & 1 == gates.truth(op, xa, xb), (gates.NAMES[op], xa, xb)
                seen.append((xa, xb))

    sim = Simulator(layer)
    sim.add_testbench(bench)
    sim.run()
    assert len(seen) == 4
