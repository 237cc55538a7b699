"""The hardware core: a pipelined logic-gate network with a valid/ready stream interface.

Structure (each block is its own Verilog module)::

    in_data ─> input reg ─> GateLayer 0 ─> ... ─> GateLayer L-1 ─> Popcount ─> Argmax ─> FIFO ─> out_*
                 valid ──────────── shift register, same delay ────────────────────────> w_en

The datapath is free-running: its registers have neither reset nor enable,
so backpressure never fans out into it. A credit counter (samples accepted and
not yet handed out) guards an output FIFO of ``latency + 1`` entries, which is
enough for every sample in flight; ``in_ready`` is a register derived from it.

Latency (the number in the manifest): a sample transferred on rising edge
``t`` (``in_valid & in_ready``) is, with ``out_ready`` held high, transferred
out on rising edge ``t + latency`` (``out_valid & out_ready``); that is,
``out_valid`` rises ``latency - 1`` clock periods after the accepting edge.
It is::

    latency = 1 (input register) + gate registers + popcount registers
              + argmax registers + 2 (FIFO write, FIFO output register)
"""

from __future__ import annotations

import functools
import math

import numpy as np

from amaranth.hdl import Cat, Const, Module, Mux, Signal
from amaranth.lib import wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from .. import gates
from .pipeline import Pipeline
from .ports import CLOCK, RESET, core_ports

__all__ = ["GateLayer", "Popcount", "Argmax", "LgnCore", "latency_of", "INPUT_LATENCY", "FIFO_LATENCY"]

INPUT_LATENCY = 1
FIFO_LATENCY = 2


def _levels(count: int) -> int:
    """Levels of a binary reduction tree over ``count`` leaves."""
    return (count - 1).bit_length() if count > 1 else 0


def _registers(levels: int, every: int) -> int:
    return levels // every if every else 0


def latency_of(netlist, pipeline: Pipeline) -> dict:
    """Latency in cycles, split by part: ``{"input", "gates", "popcount", "argmax", "fifo", "total"}``."""
    parts = {
        "input": INPUT_LATENCY,
        "gates": _registers(netlist.depth, pipeline.gate_every),
        "popcount": _registers(_popcount_levels(netlist.outputs_per_class), pipeline.popcount_every),
        "argmax": _levels(netlist.num_classes) if pipeline.argmax_registered else 0,
        "fifo": FIFO_LATENCY,
    }
    parts["total"] = sum(parts.values())
    return parts


def _stage(m, value, registered: bool, name: str) -> Signal:
    """A wide signal holding ``value``: a plain wire, or a register without reset or enable."""
    sig = Signal(len(value), name=name, reset_less=True)
    if registered:
        m.d.sync += sig.eq(value)
    else:
        m.d.comb += sig.eq(value)
    return sig


class GateLayer(wiring.Component):
    """One layer of gates: ``y[i] = op[i](x[a[i]], x[b[i]])``, optionally registered.

    Each run of consecutive gates with the same op computes
    ``gates.hdl_expr(op, A, B)`` once, on wide vectors ``A``, ``B`` gathered
    from ``x``: one bitwise cell per run instead of one per gate, and ``y`` is
    the ``Cat`` of the runs. :class:`LgnCore` orders each layer's gates by op
    so that runs are long. (Per-bit assignments, or slices of a ``Cat``, make
    Amaranth quadratic; everything here is a ``Cat`` of signal slices.)
    """

    def __init__(self, a, b, op, num_in: int, *, registered: bool):
        self._a, self._b, self._op = (np.asarray(v, dtype=np.int64) for v in (a, b, op))
        self.registered = bool(registered)
        self.latency = int(self.registered)
        super().__init__({"x": In(num_in), "y": Out(len(self._op))})

    def elaborate(self, platform):
        m = Module()
        x, a, b, op = self.x, self._a, self._b, self._op
        starts = np.flatnonzero(np.diff(op, prepend=-1)).tolist() + [len(op)]
        runs = []
        for lo, hi in zip(starts[:-1], starts[1:]):
            code = int(op[lo])
            va = Cat(*(x[i] for i in a[lo:hi].tolist()))
            vb = Cat(*(x[i] for i in b[lo:hi].tolist()))
            expr = gates.hdl_expr(code, va, vb)
            if len(expr) != hi - lo:  # FALSE / TRUE come back as one constant bit
                expr = expr.replicate(hi - lo)
            run = Signal(hi - lo, name=f"op_{gates.NAMES[code].lower()}")
            m.d.comb += run.eq(expr)
            runs.append(run)
        y = _stage(m, Cat(*runs), self.registered, "gates")
        m.d.comb += self.y.eq(y)
        return m


_BALANCED_TRIES = 64


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


def _widen(value, width):
    """``value`` zero-extended to at least ``width`` bits."""
    return value if len(value) >= width else Cat(value, Const(0, width - len(value)))


def _add(a, b, cin, width):
    """``a + b + cin`` (``cin`` one bit or ``None``) in ``width`` bits."""
    if len(a) == len(b) == 1:  # a full (half) adder as logic, so that synthesis may merge it
        t = a ^ b
        if cin is None:
            return Cat(t, a & b)[:width]
        return Cat(t ^ cin, (a & b) | (t & cin))[:width]
    w = max(len(a), len(b))
    a, b = _widen(a, w), _widen(b, w)
    if cin is None:
        return (a + b)[:width]
    # The carry-in enters as an extra lowest bit: (2a + c) + (2b + 1) = 2 (a + b + c) + 1 - c,
    # so bit 0 carries exactly c into bit 1. One adder of equal-width operands.
    return (Cat(cin, a) + Cat(Const(1, 1), b))[1: 1 + width]


class Popcount(wiring.Component):
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
    1.22 SB_LUT4 per input bit on iCE40 whatever ``every`` (the bit-sliced
    half-adder tree this replaces: 2.0-2.7), 1.85-1.9 LUT4 + 2 x CCU2C on ECP5
    (was 3.1-3.7).
    """

    def __init__(self, num_classes: int, k: int, *, every: int):
        self.num_classes = num_classes
        self.k = k
        self.every = every
        self.score_width = k.bit_length()
        self.levels = _popcount_levels(k)
        self.latency = _registers(self.levels, every)
        super().__init__({"x": In(num_classes * k), "scores": Out(num_classes * self.score_width)})

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
        # Per class, the value of every node alive after the current level.
        values = [[self.x[c * k + i] for i in range(k)] + [None] * (len(nodes) - k) for c in range(n)]
        for level in range(1, self.levels + 1):
            alive = [i for i, node in enumerate(nodes) if node[3] <= level < parent[i]]
            parts = []
            for vals in values:
                for i in alive:
                    a, b, cin, height, _ = nodes[i]
                    if height == level:
                        parts.append(_add(vals[a], vals[b], None if cin is None else vals[cin], width[i]))
                    else:
                        parts.append(vals[i])
            sig = _stage(m, Cat(*parts), self._registered(level), f"level{level}")
            # Re-slice the wide level signal: the next level reads plain slices of it.
            pos = 0
            for vals in values:
                for i in alive:
                    vals[i] = sig[pos: pos + width[i]]
                    pos += width[i]
        m.d.comb += self.scores.eq(Cat(*(vals[root] for vals in values)))
        return m


class Argmax(wiring.Component):
    """The class with the highest score, lowest index on ties (``torch.argmax``).

    A tree of compare/select over contiguous class ranges: the right (higher
    index) candidate wins only with a strictly greater score. With
    ``registered``, a register follows every level, and the scores travel
    beside it in a shift register of equal length.
    """

    def __init__(self, num_classes: int, score_width: int, class_width: int, *, registered: bool):
        self.num_classes = num_classes
        self.score_width = score_width
        self.class_width = class_width
        self.registered = bool(registered)
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
        cands = [(Const(c, cw), self.scores[c * w: (c + 1) * w]) for c in range(self.num_classes)]
        scores = self.scores
        for level in range(1, self.levels + 1):
            parts = []
            for j in range(0, len(cands) - 1, 2):
                (ia, sa), (ib, sb) = cands[j], cands[j + 1]
                right = sb > sa
                parts.append(Cat(Mux(right, ib, ia), Mux(right, sb, sa)))
            if len(cands) % 2:
                parts.append(Cat(*cands[-1]))
            sig = _stage(m, Cat(*parts), self.registered, f"level{level}")
            cands = [(sig[i * (cw + w): i * (cw + w) + cw], sig[i * (cw + w) + cw: (i + 1) * (cw + w)])
                     for i in range(len(parts))]
            scores = _stage(m, scores, self.registered, f"scores{level}")
        m.d.comb += [self.cls.eq(cands[0][0]), self.scores_out.eq(scores)]
        return m


class LgnCore(wiring.Component):
    """The lgn-hw core for one netlist (ports and protocol: DESIGN.md section 3).

    Ports (besides ``clk``/``rst``, the ``sync`` domain with synchronous reset)
    come from :func:`lgn_hw.hdl.ports.core_ports`. See the module docstring for
    the structure and the exact meaning of :attr:`latency`.
    """

    def __init__(self, netlist, pipeline: Pipeline = Pipeline()):
        if not isinstance(pipeline, Pipeline):
            raise TypeError(f"'pipeline' must be a Pipeline, not {pipeline!r}")
        self.netlist = netlist
        self.pipeline = pipeline
        self.latency_parts = latency_of(netlist, pipeline)
        self.latency = self.latency_parts["total"]
        #: Output FIFO entries: every sample in flight has a place (see module docstring).
        self.fifo_depth = self.latency + 1
        members = {}
        for port in core_ports(netlist):
            if port.name in (CLOCK, RESET):
                continue
            members[port.name] = (In if port.direction == "in" else Out)(port.width)
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        net, pipe = self.netlist, self.pipeline
        accept = self.in_valid & self.in_ready
        delay = INPUT_LATENCY

        data = _stage(m, self.in_data, True, "in_reg")
        width = net.num_inputs
        # Inside the core each layer's gates sit ordered by op (the last layer: by class, then
        # op), so that GateLayer forms long runs; `where` maps netlist index -> position.
        where = np.arange(net.num_inputs)
        for i, layer in enumerate(net.layers):
            if i == net.depth - 1:
                order = np.lexsort((layer.op, np.arange(layer.width) // net.outputs_per_class))
            else:
                order = np.argsort(layer.op, kind="stable")
            registered = bool(pipe.gate_every) and (i + 1) % pipe.gate_every == 0
            gl = GateLayer(where[layer.a[order]], where[layer.b[order]], layer.op[order], width,
                           registered=registered)
            m.submodules[f"layer{i}"] = gl
            m.d.comb += gl.x.eq(data)
            where = np.empty(layer.width, dtype=np.int64)
            where[order] = np.arange(layer.width)
            data, width, delay = gl.y, layer.width, delay + gl.latency

        m.submodules.popcount = popcount = Popcount(
            net.num_classes, net.outputs_per_class, every=pipe.popcount_every)
        m.d.comb += popcount.x.eq(data)
        m.submodules.argmax = argmax = Argmax(
            net.num_classes, net.score_width, net.class_width, registered=pipe.argmax_registered)
        m.d.comb += argmax.scores.eq(popcount.scores)
        delay += popcount.latency + argmax.latency

        # Valid bits follow the datapath in a shift register (these, unlike the data, reset).
        valid = accept
        for i in range(delay):
            v = Signal(name=f"valid{i}")
            m.d.sync += v.eq(valid)
            valid = v

        cw = net.class_width
        m.submodules.fifo = fifo = SyncFIFOBuffered(width=cw + len(argmax.scores_out), depth=self.fifo_depth)
        m.d.comb += [
            fifo.w_en.eq(valid),
            fifo.w_data.eq(Cat(argmax.cls, argmax.scores_out)),
            self.out_valid.eq(fifo.r_rdy),
            fifo.r_en.eq(self.out_ready),
            self.out_class.eq(fifo.r_data[:cw]),
            self.out_scores.eq(fifo.r_data[cw:]),
        ]

        # Credits: samples accepted and not yet handed out never exceed the FIFO depth,
        # so a FIFO write always finds room and the datapath never stalls.
        pop = fifo.r_rdy & self.out_ready
        pending = Signal(range(self.fifo_depth + 1))
        pending_next = Signal(range(self.fifo_depth + 1))
        m.d.comb += pending_next.eq(pending + accept - pop)
        m.d.sync += [
            pending.eq(pending_next),
            self.in_ready.eq(pending_next < self.fifo_depth),
        ]
        return m
