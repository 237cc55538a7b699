"""The core's scoring blocks: per-class popcount adder trees and the argmax tree."""

from __future__ import annotations

import functools
import heapq
import math

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from .. import gates
from . import stage
from .stage import _levels, _name_segments, _registers, _stage

__all__ = ["Popcount", "CounterPopcount", "Argmax"]


_BALANCED_TRIES = 64
_CHUNK = 64  # tree nodes per stage signal: bounds the length of a Verilog line


@functools.lru_cache(maxsize=None)
def _split(n: int, height: int):
    """The cheapest adder tree of at most ``height`` levels over ``n`` bits: ``(cost, (l, r, cin))``.

    The root adds the counts of ``l`` and ``r`` bits plus ``cin`` (0 or 1) spare bits as
    carry-in; the cost counts one LUT per output bit of every adder (a carry-chain adder,
    or the two LUT3s of a full adder). Split points tried: the 64 most balanced, the most
    unbalanced, and those that make one side a full tree (``2**j - 1`` bits) or one bit
    off it. That finds the same trees as trying every split for all ``n < 1200`` (the
    tests check the cost against an exhaustive search) and builds the tree of a million
    bits in about 2 s; trying every split took 53 s for 20,000 bits.
    """
    if n == 1:
        return 0, None
    if height == 0:
        return math.inf, None
    cap = (1 << height) - 1  # the most bits a tree of height - 1 counts
    best = (math.inf, None)
    for cin in (1, 0):
        rest = n - cin
        lo, hi = max(1, rest - cap), rest // 2
        tries = set(range(max(lo, hi - _BALANCED_TRIES), hi + 1)) | {lo}
        for j in range(1, height + 1):
            full = (1 << j) - 1
            tries.update(c for c in (full, full + 1, rest - full, rest - full - 1) if lo <= c <= hi)
        for l in sorted(tries, reverse=True):  # from balanced outwards
            cost = _split(l, height - 1)[0] + _split(rest - l, height - 1)[0] + n.bit_length()
            if cost < best[0]:
                best = (cost, (l, rest - l, cin))
    return best


def _popcount_levels(k: int) -> int:
    """Levels of :class:`Popcount`'s tree over ``k`` bits: ``h`` levels count up to ``2**(h+1) - 1`` bits."""
    return k.bit_length() - 1


def _popcount_tree(k: int):
    """The adder tree of :class:`Popcount` over ``k`` bits, as a list of nodes and the root's index.

    Nodes ``0 .. k-1`` are the input bits; each later node ``(a, b, cin, height, count)`` adds
    nodes ``a`` and ``b`` and the input bit ``cin`` (or ``None``), and counts ``count`` bits.
    """
    nodes = [(None, None, None, 0, 1)] * k
    leaves = iter(range(k))

    def build(n, height):
        if n == 1:
            return next(leaves)
        l, r, cin = _split(n, height)[1]
        a, b = build(l, height - 1), build(r, height - 1)
        nodes.append((a, b, next(leaves) if cin else None, 1 + max(nodes[a][3], nodes[b][3]), n))
        return len(nodes) - 1

    root = build(k, _popcount_levels(k))
    return nodes, root


def _shared(m, value, name):
    """``value`` as a signal: Amaranth emits an expression again for every use, a signal once."""
    sig = Signal(len(value), name=name)
    m.d.comb += sig.eq(value)
    return sig


def _full_add(m, a, b, cin):
    """``a + b + cin`` (``cin`` may be None) as logic, bitwise on equal-width ``a``, ``b``, ``cin``:
    ``(sum, carry)``."""
    t = _shared(m, a ^ b, "t")
    if cin is None:
        return t, a & b
    return t ^ cin, (a & b) | (t & cin)


def _add(m, a, b, cin, width):
    """``a + b + cin`` (``cin`` one bit or ``None``) in ``width`` bits, width-clean.

    Every operator sees operands of one width: Amaranth drops constant zero
    padding, so a narrower operand cannot be zero-extended in the Verilog
    (Verilator's WIDTHEXPAND). The low ``len(a)`` bits of the wider operand
    are added on a carry chain (single bits: a full adder as logic, so that
    synthesis may merge it), and its high bits take the carry through a chain
    of half adders. Every value used twice is a signal (see :func:`_shared`).
    """
    if len(a) > len(b):
        a, b = b, a
    w = len(a)
    if w == 1:
        low, carry = _full_add(m, a, b[0], cin)
    else:
        if cin is None:
            total = a + b[:w]
        else:
            # The carry-in enters as an extra lowest bit: (2a + c) + (2b + 1) = 2 (a + b + c) + 1 - c,
            # so bit 0 carries exactly c into bit 1. One adder of equal-width operands.
            total = (Cat(cin, a) + Cat(Const(1, 1), b[:w]))[1:]
        if len(b) == w:  # used once: no signal (for Icarus, one bit-select less)
            return total[:width]
        total = _shared(m, total, "sum")
        low, carry = total[:w], total[w]
    bits = [low]
    for i in range(w, len(b)):
        s, carry = _full_add(m, b[i], carry, None)
        carry = _shared(m, carry, "carry")
        bits.append(s)
    return Cat(*bits, carry)[:width]


def _leaf_order(nodes, k):
    """The first level's adders and a place in the class's ``k`` bits for every leaf.

    Returns ``(fulls, halves, place)``: the node indices of the first level's
    full adders (with a carry-in) and half adders, and ``place[leaf]``. The full
    adders read three consecutive runs of bits (first operands, second operands,
    carries in), the half adders the next two runs, and the leaves that skip the
    level come last. (Any order counts the same bits.) So the first level is a
    few bitwise expressions per class on plain slices of ``x``, not a few per adder.
    """
    first = [i for i in range(k, len(nodes)) if nodes[i][3] == 1]
    fulls = [i for i in first if nodes[i][2] is not None]
    halves = [i for i in first if nodes[i][2] is None]
    order = [nodes[i][j] for j in range(3) for i in fulls] + [nodes[i][j] for j in range(2) for i in halves]
    used = set(order)
    order += [i for i in range(k) if i not in used]
    place = [0] * k
    for pos, leaf in enumerate(order):
        place[leaf] = pos
    return fulls, halves, place


def _register_chunks(nodes, alive, level, width):
    """The nodes ``alive`` after ``level`` in the order of a register, cut into chunks of about ``_CHUNK``.

    Each adder of the next level finds its carry-in, then its narrower and its wider
    operand side by side (the order in which :func:`_add` concatenates them), so
    its first operand is one slice of one register. Nodes read later come last.
    """
    groups, seen = [], set()
    for a, b, cin, height, _ in nodes:
        if height == level + 1:
            narrow, wide = (a, b) if width[a] <= width[b] else (b, a)
            group = [i for i in (cin, narrow, wide) if i is not None]
            groups.append(group)
            seen.update(group)
    groups += [[i] for i in alive if i not in seen]
    chunks, chunk = [], []
    for group in groups:
        if chunk and len(chunk) + len(group) > _CHUNK:
            chunks.append(chunk)
            chunk = []
        chunk += group
    return chunks + [chunk]


#: Class sizes up to which :func:`_counter_plan` searches the fewest LUTs exhaustively (the search
#: takes 0.6 s at 40 bits and grows about 2.5x per 8 more); larger classes take a greedy plan.
_EXACT_COUNTERS = 40


def _counters(state, lut):
    """The counters that may run next on a heap of ``state[c]`` bits of weight ``2**c``: ``(column,
    takes, new_state, luts)``. A counter adds ``takes = (a, b, d)`` bits of columns ``c, c+1, c+2``
    (``a >= 2``, at most ``lut`` bits in all) and puts each bit of the sum, one LUT each, back into
    columns ``c, c+1, ...``; bits at or above the score width are always 0 and are not made. Only
    the lowest column with two or more bits is tried (found as good on every class size tested).
    """
    width = len(state)
    for c, n in enumerate(state):
        if n < 2:
            continue
        up1 = state[c + 1] if c + 1 < width else 0
        up2 = state[c + 2] if c + 2 < width else 0
        for a in range(2, min(n, lut) + 1):
            for b in range(min(lut - a, up1) + 1):
                for d in range(min(lut - a - b, up2) + 1):
                    outs = min((a + 2 * b + 4 * d).bit_length(), width - c)
                    new = list(state)
                    for j, t in enumerate((a, b, d)):
                        if t:
                            new[c + j] -= t
                    for j in range(outs):
                        new[c + j] += 1
                    yield c, (a, b, d), tuple(new), outs
        return


@functools.lru_cache(maxsize=None)
def _counter_plan(k: int, lut: int) -> tuple:
    """The counters (``(column, takes)``, in order) that reduce ``k`` bits to one bit per score bit.

    Up to :data:`_EXACT_COUNTERS` bits, the fewest LUTs (a shortest path over heap shapes);
    beyond, a greedy plan: at the lowest column with two or more bits, the counter that removes
    the most bits, then the one with the fewest outputs (within 10% of the fewest up to 64 bits).
    """
    start = (k,) + (0,) * (k.bit_length() - 1)
    done = lambda s: max(s) <= 1  # noqa: E731
    if k > _EXACT_COUNTERS:
        plan, state = [], start
        while not done(state):
            c, takes, state, _ = max(_counters(state, lut), key=lambda o: (sum(o[1]) - o[3], -o[3], o[1][0]))
            plan.append((c, takes))
        return tuple(plan)
    dist, back, heap = {start: 0}, {}, [(0, start)]
    while heap:
        cost, state = heapq.heappop(heap)
        if cost > dist[state]:
            continue
        if done(state):
            break
        for c, takes, new, luts in _counters(state, lut):
            if cost + luts < dist.get(new, math.inf):
                dist[new] = cost + luts
                back[new] = (state, (c, takes))
                heapq.heappush(heap, (cost + luts, new))
    plan = []
    while state != start:
        state, step = back[state]
        plan.append(step)
    return tuple(reversed(plan))


def _counter_network(k: int, lut: int):
    """The LUTs of :func:`_counter_plan` on ``k`` input bits: ``(luts, outputs, depth)``.

    Signals ``0 .. k-1`` are the inputs; LUT ``i`` is signal ``k + i``, ``(inputs, weights,
    bit)``: bit ``bit`` of the sum of ``weights[j] * inputs[j]``. ``outputs[j]`` is the signal
    of score bit ``j`` (None: always 0, for ``k = 0`` only). ``depth[s]`` counts LUTs from the
    inputs. A counter takes the shallowest bits of each column first.
    """
    width = k.bit_length()
    depth = [0] * k
    columns = [sorted(range(k)) if c == 0 else [] for c in range(width)]
    luts = []
    for c, takes in _counter_plan(k, lut):
        inputs, weights = [], []
        for j, t in enumerate(takes):
            if not t:
                continue
            col = columns[c + j]
            col.sort(key=lambda s: depth[s])
            inputs += col[:t]
            weights += [1 << j] * t
            del col[:t]
        d = 1 + max(depth[s] for s in inputs)
        for j in range(min((sum(weights)).bit_length(), width - c)):
            columns[c + j].append(k + len(luts))
            luts.append((tuple(inputs), tuple(weights), j))
            depth.append(d)
    return luts, [col[0] if col else None for col in columns], depth


def _counter_table(weights, bit) -> int:
    """The table (:mod:`lgn_hw.gates` convention) of bit ``bit`` of ``sum(weights[i] * x_i)``."""
    k = len(weights)
    return gates.lut_from_entries([
        sum(w for i, w in enumerate(weights) if j >> (k - 1 - i) & 1) >> bit & 1 for j in range(1 << k)])


class _ClassCounter(wiring.Component):
    """One class of :class:`CounterPopcount`: the popcount of ``x`` from the LUTs of
    :func:`_counter_network`, with ``registers`` stages at evenly spaced LUT depths."""

    def __init__(self, k: int, lut: int, registers: int):
        self.k, self.lut, self.registers = k, lut, registers
        super().__init__({"x": In(k), "score": Out(k.bit_length())})

    def elaborate(self, platform):
        m = Module()
        k, regs = self.k, self.registers
        luts, outputs, depth = _counter_network(k, self.lut)
        top = max(depth, default=0)
        cuts = [math.ceil(j * top / (regs + 1)) for j in range(1, regs + 1)]  # register j after this depth
        stage_of = lambda d: sum(t < d for t in cuts)  # noqa: E731  (registers before LUT depth d)
        read_at = [0] * len(depth)  # the last stage that reads each signal
        for i, (inputs, _, _) in enumerate(luts):
            for s in inputs:
                read_at[s] = max(read_at[s], stage_of(depth[k + i]))
        for s in outputs:
            read_at[s] = regs
        # value[s][t]: signal s as seen in stage t (after t registers).
        value = [{0: self.x[s]} for s in range(k)] + [None] * len(luts)
        for t in range(regs + 1):
            for i, (inputs, weights, bit) in enumerate(luts):
                if stage_of(depth[k + i]) == t:
                    expr = gates.lut_hdl_expr(_counter_table(weights, bit), len(inputs),
                                              [value[s][t] for s in inputs])
                    value[k + i] = {t: _shared(m, expr, f"n{i}")}
            if t == regs:
                break
            alive = [s for s in range(len(depth)) if value[s] is not None and t in value[s] and read_at[s] > t]
            reg = _stage(m, [value[s][t] for s in alive], True, f"l{t + 1}")
            for j, s in enumerate(alive):
                value[s][t + 1] = reg[j]
        m.d.comb += self.score.eq(Cat(*(value[s][regs] for s in outputs)))
        return m


class _ClassScores(wiring.Component):
    """What both popcounts share: per class the count of ``k`` consecutive bits of ``x``, class ``c``
    at ``scores[c*W +: W]`` with ``W = k.bit_length()``, and the adder tree's register count
    (``levels // every``) as the latency, whatever the shape."""

    def __init__(self, num_classes: int, k: int, *, every: int):
        self.num_classes = num_classes
        self.k = k
        self.every = every
        self.score_width = k.bit_length()
        self.levels = _popcount_levels(k)
        self.latency = _registers(self.levels, every)
        super().__init__({"x": In(num_classes * k), "scores": Out(num_classes * self.score_width)})


class CounterPopcount(_ClassScores):
    """Per class, the popcount of ``k`` consecutive bits from counters of at most ``lut`` inputs.

    The same ports, score layout and latency as :class:`Popcount`, for LUT-``lut`` targets:
    each output bit of each counter (:func:`_counter_plan`) is one expression of at most
    ``lut`` inputs (:func:`lgn_hw.gates.lut_hdl_expr`), which synthesis maps to one LUT, where
    the adder tree spends a LUT per adder output bit on a carry chain plus inverters.

    Each class is its own module (``c<class>``, registers ``l<stage>`` inside), which the
    synthesis scripts keep apart: Yosys's LUT mapper then finds the planned LUTs, where over
    all classes at once it spent 9.8 per class of 10 bits instead of 8. Measured on Xilinx 7,
    LUT6 per class (registered every 2 levels; adder tree in brackets): 10 bits 8-10 (12),
    15 bits 12-14 (14), 16 bits 13 (21), 24 bits 20 (27), 32 bits 30 (42), 100 bits 106 (121);
    20 bits 25 (23) is the one size seen worse (the mapper's choice, not the plan's 17; the
    lower figure of a range is with the stall stream's clock enable); ``bench/overhead.py``.

    The registers are those of the adder tree (``levels // every``), placed at evenly spaced
    LUT depths; a value read past a register passes through it.
    """

    def __init__(self, num_classes: int, k: int, *, every: int, lut: int = 6):
        if isinstance(lut, bool) or not isinstance(lut, int) or not 3 <= lut <= 6:
            self._MustUse__silence = True  # never built: no "created but never used" warning
            raise ValueError(f"'lut' must be an integer from 3 to 6, not {lut!r}")
        self.lut = lut
        super().__init__(num_classes, k, every=every)

    def elaborate(self, platform):
        m = Module()
        k = self.k
        _name_segments(m, self.x)
        scores = []
        for c in range(self.num_classes):
            m.submodules[f"c{c}"] = counter = _ClassCounter(k, self.lut, self.latency)
            m.d.comb += counter.x.eq(self.x[c * k: (c + 1) * k])
            scores.append(counter.score)
        _stage(m, scores, False, "scores", out=self.scores)
        return m


class Popcount(_ClassScores):
    """Per class, the popcount of ``k`` consecutive bits: a tree of carry-chain adders.

    Class ``c`` reads ``x[c*k : (c+1)*k]`` and its score leaves at
    ``scores[c*W +: W]`` with ``W = k.bit_length()``. A register follows every
    ``every``-th level (``every=0``: combinational).

    Each adder adds two partial counts and one spare input bit as carry-in, so
    ``h`` levels count up to ``2**(h+1) - 1`` bits (``W - 1`` levels for ``k``)
    and the narrow first level (three bits into a 2-bit count: a full adder)
    already halves the bits; wider adders map onto carry chains. Among the
    trees of that height, :func:`_split` picks the one with the fewest adder
    output bits. Values that skip a level (a spare bit, a shorter subtree)
    pass through its register. Measured (``Popcount(10, 100)`` alone, Yosys):
    1.26 SB_LUT4 per input bit on iCE40 whatever ``every`` (the bit-sliced
    half-adder tree this replaces: 2.0-2.7; 1.22 before :func:`_add` became
    width-clean), 1.13 LUT4 + 0.38 CCU2C on ECP5, 0.97 LUT + 0.24 INV on
    Xilinx 7.

    Each class's registered level is its own register ``c<class>_l<level>``
    (in chunks of 64 tree nodes, ``..._<chunk>``, when wider), so a timing
    path names its class and adder level and no Verilog line grows with ``k``.
    The first level is a few bitwise expressions per class over runs of ``x``
    (:func:`_leaf_order`); every value used twice is a signal (:func:`_shared`).
    For Icarus, which builds one event-driven node per expression and per
    bit-select, that took this block from 3.2 to 0.9 ms per cycle of random
    inputs on the demo-shaped core (``bench/icarus.py``), with the same cells
    for synthesis (the iCE40 and Xilinx LUT counts stayed the same).
    """

    def _registered(self, level):
        return bool(self.every) and level % self.every == 0

    def elaborate(self, platform):
        m = Module()
        k, n = self.k, self.num_classes
        nodes, root = _popcount_tree(k)
        parent = [self.levels + 1] * len(nodes)  # the level that reads each node
        for a, b, cin, height, _ in nodes[k:]:
            for child in (a, b, cin):
                if child is not None:
                    parent[child] = height
        width = [count.bit_length() for *_, count in nodes]
        _name_segments(m, self.x)
        fulls, halves, place = _leaf_order(nodes, k)
        # Per class, the value of every node alive after the current level; the first level's
        # adders are computed here, as bitwise expressions over runs of x (see _leaf_order).
        values = []
        for c in range(n):
            x = self.x[c * k: (c + 1) * k]
            vals = [x[place[i]] for i in range(k)] + [None] * (len(nodes) - k)
            lo = 0
            for ids, kind in ((fulls, "f"), (halves, "h")):
                span, operands = len(ids), 3 if kind == "f" else 2
                for w in range(0, span, stage.SEGMENT):  # (no cell may be wider than a segment)
                    window = ids[w: w + stage.SEGMENT]
                    runs = [x[lo + j * span + w: lo + j * span + w + len(window)] for j in range(operands)]
                    total, carry = _full_add(m, runs[0], runs[1], runs[2] if kind == "f" else None)
                    suffix = f"_{w // stage.SEGMENT}" if span > stage.SEGMENT else ""
                    total = _shared(m, total, f"c{c}_s{kind}{suffix}")
                    carry = _shared(m, carry, f"c{c}_c{kind}{suffix}")
                    for j, i in enumerate(window):
                        vals[i] = Cat(total[j], carry[j])
                lo += operands * span
            values.append(vals)
        for level in range(1, self.levels + 1):
            alive = [i for i, node in enumerate(nodes) if node[3] <= level < parent[i]]
            registered = self._registered(level)
            chunks = _register_chunks(nodes, alive, level, width) if registered else []
            for c, vals in enumerate(values):
                parts = []
                for i in alive:
                    a, b, cin, height, _ = nodes[i]
                    if height == level and level > 1:
                        parts.append(_add(m, vals[a], vals[b], None if cin is None else vals[cin], width[i]))
                    else:
                        parts.append(vals[i])
                if not registered:  # the next level reads the adders' results as they are
                    for i, v in zip(alive, parts):
                        vals[i] = v
                    continue
                # One register per class, level and chunk of nodes (named c<class>_l<level>[_<chunk>]):
                # a critical path names its adder, and no Verilog line grows with k.
                value = dict(zip(alive, parts))
                for j, chunk in enumerate(chunks):
                    name = f"c{c}_l{level}" + (f"_{j}" if len(chunks) > 1 else "")
                    sig = _stage(m, [value[i] for i in chunk], registered, name)
                    # The next level reads plain slices of the stage registers.
                    pos = 0
                    for i in chunk:
                        vals[i] = sig[pos: pos + width[i]]
                        pos += width[i]
        _stage(m, [vals[root] for vals in values], False, "scores", out=self.scores)
        return m


#: Verilog attributes of a delay line that should stay flip-flops: Yosys (``keep``) and Vivado
#: (``shreg_extract``) would otherwise make a chain of 3 or more registers a shift register
#: in a LUT (Xilinx SRL16E), and LUTs are what the small cores run out of, not flip-flops.
FLIP_FLOPS = {"keep": 1, "shreg_extract": "no"}


def _greater_table(n: int, carry: bool) -> int:
    """The table of ``a > b`` (or ``a == b`` and the carry-in) for ``n``-bit ``a``, ``b``; inputs
    ``a`` MSB first, then ``b`` MSB first, then the carry."""
    k = 2 * n + carry
    entries = []
    for j in range(1 << k):
        a, b, c = j >> (k - n), (j >> carry) & ((1 << n) - 1), j & carry
        entries.append(int(a > b or (a == b and c)))
    return gates.lut_from_entries(entries)


def _lut_greater(m, a, b, lut: int, name: str):
    """``a > b`` (unsigned, equal widths) as a chain of ``lut``-input functions, low bits first:
    the lowest ``lut // 2`` bits in one, then ``(lut - 1) // 2`` more per function with the
    carry from below."""
    w = len(a)
    lo, carry = 0, None
    while lo < w:
        n = min(w - lo, (lut - (carry is not None)) // 2)
        bits = list(range(lo + n - 1, lo - 1, -1))
        inputs = [a[i] for i in bits] + [b[i] for i in bits] + ([carry] if carry is not None else [])
        sig = Signal(name=f"{name}_gt{lo + n}")
        m.d.comb += sig.eq(gates.lut_hdl_expr(_greater_table(n, carry is not None), len(inputs), inputs))
        lo, carry = lo + n, sig
    return carry


def lut_compare_fits(score_width: int, lut: int) -> bool:
    """Whether :class:`Argmax` compares with ``lut``-input functions (:func:`_lut_greater`):
    when the compare takes two of them and the second, with the two score bits a select reads,
    fits one LUT, so that synthesis makes each select bit one LUT after the first compare LUT.
    For LUT6 that is 4-bit scores (8 to 15 bits per class). Measured on Xilinx 7 (10 classes,
    registered argmax, LUT6): 4-bit scores 58 against 73 for ``>``; 3 bits (one LUT either
    way) 49 against 43, 5 bits 91 against 82, 7 bits 117 against 113: those keep ``>``."""
    return bool(lut) and lut // 2 < score_width and 2 * (score_width - lut // 2) + 3 <= lut


class Argmax(wiring.Component):
    """The class with the highest score, lowest index on ties (``torch.argmax``).

    A tree of compare/select over contiguous class ranges: the right (higher
    index) candidate wins only with a strictly greater score. With
    ``registered``, a register follows every level, and the scores travel
    beside it in a shift register of equal length, of flip-flops (:data:`FLIP_FLOPS`).
    With ``lut`` (a LUT size, see :func:`lut_compare_fits`), each compare is built from
    ``lut``-input functions instead of ``>``.
    """

    def __init__(self, num_classes: int, score_width: int, class_width: int, *, registered: bool,
                 lut: int = 0):
        self.num_classes = num_classes
        self.score_width = score_width
        self.class_width = class_width
        self.registered = bool(registered)
        self.lut = lut if lut_compare_fits(score_width, lut) else 0
        self.levels = _levels(num_classes)
        self.latency = self.levels if self.registered else 0
        super().__init__({
            "scores": In(num_classes * score_width),
            "cls": Out(class_width),
            "scores_out": Out(num_classes * score_width),
        })

    def elaborate(self, platform):
        m = Module()
        w, cw = self.score_width, self.class_width
        # A candidate: (first class, last class, class index, score) of a contiguous class range.
        cands = [(c, c, Const(c, cw), self.scores[c * w: (c + 1) * w]) for c in range(self.num_classes)]
        scores = self.scores
        for level in range(1, self.levels + 1):
            last = level == self.levels
            nxt = []
            for j in range(0, len(cands), 2):
                if j + 1 < len(cands):
                    (lo, _, ia, sa), (_, hi, ib, sb) = cands[j], cands[j + 1]
                    right = (_lut_greater(m, sb, sa, self.lut, f"l{level}_c{lo}_{hi}") if self.lut
                             else sb > sa)
                    value = Cat(Mux(right, ib, ia), Mux(right, sb, sa))
                else:
                    lo, hi, ia, sa = cands[j]
                    value = Cat(ia, sa)
                # Named l<level>_c<lo>_<hi>: the winner of classes lo..hi after this level. A
                # candidate that passes the next levels would make a shift register (flip-flops
                # instead, as for the scores); every bit of these is read, so none is kept in vain.
                sig = _stage(m, value, self.registered, f"l{level}_c{lo}_{hi}",
                             attrs=None if last else FLIP_FLOPS)
                nxt.append((lo, hi, sig[:cw], sig[cw:]))
            cands = nxt
            if self.registered and not last:  # (unregistered, a stage would only rename the input)
                scores = _stage(m, scores, True, f"scores{level}", attrs=FLIP_FLOPS)
        m.d.comb += self.cls.eq(cands[0][2])
        _stage(m, scores, self.registered and self.levels > 0, "scores_out", out=self.scores_out,
               attrs=FLIP_FLOPS)
        return m
