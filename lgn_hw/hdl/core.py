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

import math

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
    return max(0, math.ceil(math.log2(count))) if count > 1 else 0


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

    The whole layer is one ``Cat`` assigned to one wide signal; per-bit
    assignments make Amaranth quadratic in the layer width.
    """

    def __init__(self, layer, num_in: int, *, registered: bool):
        self._layer = layer
        self.registered = bool(registered)
        self.latency = int(self.registered)
        super().__init__({"x": In(num_in), "y": Out(layer.width)})

    def elaborate(self, platform):
        m = Module()
        x = self.x
        a, b, op = self._layer.a.tolist(), self._layer.b.tolist(), self._layer.op.tolist()
        exprs = [gates.hdl_expr(o, x[i], x[j]) for o, i, j in zip(op, a, b)]
        y = _stage(m, Cat(*exprs), self.registered, "gates")
        m.d.comb += self.y.eq(y)
        return m


class Popcount(wiring.Component):
    """Per class, the popcount of ``k`` consecutive bits: a binary adder tree.

    Class ``c`` reads ``x[c*k : (c+1)*k]`` and its score leaves at
    ``scores[c*W +: W]`` with ``W = k.bit_length()``. A register follows every
    ``every``-th level (``every=0``: combinational).
    """

    def __init__(self, num_classes: int, k: int, *, every: int):
        self.num_classes = num_classes
        self.k = k
        self.every = every
        self.score_width = k.bit_length()
        self.levels = _levels(k)
        self.latency = _registers(self.levels, every)
        super().__init__({"x": In(num_classes * k), "scores": Out(num_classes * self.score_width)})

    def elaborate(self, platform):
        m = Module()
        # Per class, a list of (value, largest value it can hold).
        groups = [[(self.x[c * self.k + i], 1) for i in range(self.k)] for c in range(self.num_classes)]
        for level in range(1, self.levels + 1):
            sums, parts = [], []
            for group in groups:
                new = []
                for j in range(0, len(group) - 1, 2):
                    (va, ma), (vb, mb) = group[j], group[j + 1]
                    new.append(((va + vb)[: (ma + mb).bit_length()], ma + mb))
                if len(group) % 2:
                    new.append(group[-1])
                sums.append(new)
                parts.extend(v for v, _ in new)
            registered = bool(self.every) and level % self.every == 0
            sig = _stage(m, Cat(*parts), registered, f"level{level}")
            # Re-slice the wide level signal: the next level reads plain slices of it.
            groups, pos = [], 0
            for new in sums:
                group = []
                for v, mx in new:
                    group.append((sig[pos: pos + len(v)], mx))
                    pos += len(v)
                groups.append(group)
        m.d.comb += self.scores.eq(Cat(*(group[0][0] for group in groups)))
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
        for i, layer in enumerate(net.layers):
            registered = bool(pipe.gate_every) and (i + 1) % pipe.gate_every == 0
            gl = GateLayer(layer, width, registered=registered)
            m.submodules[f"layer{i}"] = gl
            m.d.comb += gl.x.eq(data)
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
