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
        "popcount": _registers(_levels(netlist.outputs_per_class), pipeline.popcount_every),
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


def _add_planes(pa, pb, nbits):
    """Lane-wise ripple-carry sum of two numbers stored as bit planes (LSB first), ``nbits`` planes."""
    out, carry = [], None
    for j in range(nbits):
        terms = [t for t in (pa[j] if j < len(pa) else None, pb[j] if j < len(pb) else None, carry)
                 if t is not None]
        if not terms:
            break
        if len(terms) == 1:
            s, carry = terms[0], None
        elif len(terms) == 2:
            s, carry = terms[0] ^ terms[1], terms[0] & terms[1]
        else:
            t = terms[0] ^ terms[1]
            s, carry = t ^ terms[2], (terms[0] & terms[1]) | (t & terms[2])
        out.append(s)
    return out


def _widen(value, width):
    """``value`` zero-extended to at least ``width`` bits."""
    return value if len(value) >= width else Cat(value, Const(0, width - len(value)))


class Popcount(wiring.Component):
    """Per class, the popcount of ``k`` consecutive bits: a binary adder tree.

    Class ``c`` reads ``x[c*k : (c+1)*k]`` and its score leaves at
    ``scores[c*W +: W]`` with ``W = k.bit_length()``. A register follows every
    ``every``-th level (``every=0``: combinational).

    The first levels, where partial sums have at most ``bitsliced_bits``
    bits, add the first half of a class's lanes to the second half in
    bit-sliced form (a handful of wide XOR/AND cells per level, whatever the
    width: these levels hold most of the adders); the later levels use one
    ``+`` per pair, which synthesis maps to carry chains.
    """

    bitsliced_bits = 3

    def __init__(self, num_classes: int, k: int, *, every: int):
        self.num_classes = num_classes
        self.k = k
        self.every = every
        self.score_width = k.bit_length()
        self.levels = _levels(k)
        self.latency = _registers(self.levels, every)
        super().__init__({"x": In(num_classes * k), "scores": Out(num_classes * self.score_width)})

    def _registered(self, level):
        return bool(self.every) and level % self.every == 0

    def elaborate(self, platform):
        m = Module()
        k, n = self.k, self.num_classes
        # Bit-sliced levels: per class a list of planes, each a vector over the lanes.
        planes = [[self.x[c * k: (c + 1) * k]] for c in range(n)]
        lanes, bound, level = k, 1, 0
        while lanes > 1 and min(2 * bound, k).bit_length() <= self.bitsliced_bits:
            level += 1
            half = (lanes + 1) // 2
            bound = min(2 * bound, k)
            nbits = bound.bit_length()
            new = []
            for cp in planes:
                pa = [p[:half] for p in cp]
                pb = [p[half:] if lanes == 2 * half else Cat(p[half:], Const(0, 1)) for p in cp]
                new.append(_add_planes(pa, pb, nbits))
            lanes = half
            sig = _stage(m, Cat(*(Cat(*cp) for cp in new)), self._registered(level), f"level{level}")
            planes, pos = [], 0
            for cp in new:
                planes.append([sig[pos + j * lanes: pos + (j + 1) * lanes] for j in range(len(cp))])
                pos += len(cp) * lanes
        # Lane-wise levels: per class a list of (value, largest value it can hold).
        groups = [[(Cat(*(p[i] for p in cp)), bound) for i in range(lanes)] for cp in planes]
        while level < self.levels:
            level += 1
            sums = []
            for group in groups:
                new = []
                for j in range(0, len(group) - 1, 2):
                    (va, ma), (vb, mb) = group[j], group[j + 1]
                    mx = min(ma + mb, k)
                    new.append(((va + vb)[: mx.bit_length()], mx))
                if len(group) % 2:
                    new.append(group[-1])
                sums.append(new)
            # Every lane of a level gets the same width, so that no adder of the next level has
            # operands of unequal widths (Verilator -Wall flags those).
            lw = max(len(v) for new in sums for v, _ in new)
            sums = [[(_widen(v, lw), mx) for v, mx in new] for new in sums]
            parts = [v for new in sums for v, _ in new]
            sig = _stage(m, Cat(*parts), self._registered(level), f"level{level}")
            # Re-slice the wide level signal: the next level reads plain slices of it.
            groups, pos = [], 0
            for new in sums:
                group = []
                for v, mx in new:
                    group.append((sig[pos: pos + len(v)], mx))
                    pos += len(v)
                groups.append(group)
        w = self.score_width
        scores = []
        for (v, _), in groups:
            scores.append(_widen(v, w)[:w])
        m.d.comb += self.scores.eq(Cat(*scores))
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
