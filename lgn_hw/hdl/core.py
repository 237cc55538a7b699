"""The hardware core: a pipelined logic-gate network with a valid/ready stream interface.

Structure (each block is its own Verilog module)::

    in_data ─> input reg ─> GateLayer 0 ─> ... ─> GateLayer L-1 ─> Popcount ─> Argmax ─> FIFO ─> out_*
                 valid ──────────── shift register, same delay ────────────────────────> w_en

Two output stages (:attr:`Pipeline.stream`):

``"fifo"`` (the default)
    The datapath is free-running: its registers have neither reset nor enable,
    so backpressure never fans out into it. A credit counter (samples accepted and
    not yet handed out) guards an output FIFO of ``latency + 1`` entries, which is
    enough for every sample in flight; ``in_ready`` is a register derived from it.
``"stall"``
    No FIFO and no credits: every register of the core (datapath and valid bits)
    advances only when ``out_ready | ~out_valid``, and ``in_ready`` is that enable,
    so it depends combinationally on ``out_ready``. The results leave from the last
    pipeline registers. It saves the FIFO's LUT-RAM and the counter; the enable
    reaches every register (free on FPGA flip-flops, which have a clock enable, but
    a net of that fanout).

Latency (the number in the manifest): a sample transferred on rising edge
``t`` (``in_valid & in_ready``) is, with ``out_ready`` held high, transferred
out on rising edge ``t + latency`` (``out_valid & out_ready``); that is,
``out_valid`` rises ``latency - 1`` clock periods after the accepting edge.
It is::

    latency = 1 (input register) + gate registers + popcount registers
              + argmax registers + 2 (FIFO write, FIFO output register; "fifo" only)
"""

from __future__ import annotations

import numpy as np

from amaranth.hdl import Cat, Const, EnableInserter, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.fifo import SyncFIFOBuffered
from amaranth.lib.wiring import In, Out

from .. import gates
from .encoder import CoreInputs, FeatureEncoder, encoder_fields, encoder_is_wiring
from .pipeline import Pipeline
from .popcount import Argmax, CounterPopcount, Popcount, _popcount_levels
from .ports import CLOCK, RESET, core_ports
from . import stage
from .stage import _join, _levels, _name_segments, _registers, _stage

__all__ = ["GateLayer", "LutNodeLayer", "LgnCore", "latency_of", "INPUT_LATENCY", "FIFO_LATENCY"]

INPUT_LATENCY = 1
FIFO_LATENCY = 2


def latency_of(netlist, pipeline: Pipeline, encoder: str = "host") -> dict:
    """Latency in cycles, split by part: ``{"input", ["encoder",] "gates", "popcount", "argmax", ["fifo",] "total"}``.

    ``"encoder"`` is there only for ``encoder="hw"``: one register after the compares, or 0 when every
    compare layer 0 reads is a single input bit (MNIST's ``q > 127``: wires, nothing to register),
    ``"fifo"`` only for ``pipeline.stream == "fifo"``.
    """
    parts = {
        "input": INPUT_LATENCY,
        **({"encoder": _encoder_latency(netlist)} if encoder == "hw" else {}),
        "gates": _registers(netlist.depth, pipeline.gate_every),
        "popcount": _registers(_popcount_levels(netlist.outputs_per_class), pipeline.popcount_every),
        "argmax": _levels(netlist.num_classes) if pipeline.argmax_registered else 0,
        **({"fifo": FIFO_LATENCY} if pipeline.stream == "fifo" else {}),
    }
    parts["total"] = sum(parts.values())
    return parts


#: Gates per bitwise cell. Icarus builds a concatenation of more than 4 pieces as a tree
#: of 4-way ones, each re-sent whole on every change of a piece: cells of 16 gates (two
#: levels) ran the demo-shaped core 1.2x faster than cells of 64 (bench/icarus.py), and 4 or 8
#: slower again (more cells to join). It also bounds a Verilog line to 2 x 16 bit-selects.
CHUNK = 16


class GateLayer(wiring.Component):
    """One layer of gates: ``y[i] = op[i](x[a[i]], x[b[i]])``, optionally registered.

    Each run of up to ``CHUNK`` consecutive gates with the same op computes
    ``gates.hdl_expr(op, A, B)`` once, on vectors ``A``, ``B`` gathered from
    ``x``: one bitwise cell per run instead of one per gate. :class:`LgnCore`
    orders each layer's gates by op so that runs are long. ``y`` joins the
    runs through :func:`lgn_hw.hdl.stage._join` into ``y``, with ``registered`` through a
    register (named ``y`` in the Verilog, or ``gates_<i>`` when cut into several). (Per-bit assignments, or slices of a ``Cat``, make Amaranth
    quadratic; everything here is a ``Cat`` of signal slices.)
    """

    def __init__(self, a, b, op, num_in: int, *, registered: bool):
        self._a, self._b, self._op = (np.asarray(v, dtype=np.int64) for v in (a, b, op))
        self.registered = bool(registered)
        self.latency = int(self.registered)
        super().__init__({"x": In(num_in), "y": Out(len(self._op))})

    def elaborate(self, platform):
        m = Module()
        a, b, op = self._a, self._b, self._op
        # Both polarities of x, one cell each (see _run; one per segment of a very wide x).
        segments = _name_segments(m, self.x)
        pos, neg = _Bits(), _Bits()
        for i, x in enumerate(segments):
            suffix = f"_{i}" if len(segments) > 1 else ""
            p, n = Signal(len(x), name=f"x_pos{suffix}"), Signal(len(x), name=f"x_neg{suffix}")
            m.d.comb += [p.eq(x & x), n.eq(~x)]
            pos.append(p)
            neg.append(n)
        starts = np.flatnonzero(np.diff(op, prepend=-1)).tolist() + [len(op)]
        runs = []
        for lo, hi in zip(starts[:-1], starts[1:]):
            code = int(op[lo])
            for c in range(lo, hi, CHUNK):
                d = min(hi, c + CHUNK)
                runs.append(_run(code, a[c:d].tolist(), b[c:d].tolist(), pos, neg))
        _stage(m, runs, self.registered, "gates", out=self.y)
        return m


class _Bits(list):
    """Signals of :data:`~lgn_hw.hdl.stage.SEGMENT` bits (the last may be shorter), indexed by bit."""

    def __getitem__(self, i):
        if isinstance(i, slice):
            return list.__getitem__(self, i)
        return list.__getitem__(self, i // stage.SEGMENT)[i % stage.SEGMENT]


def _run(code, a, b, pos, neg):
    """Gate ``code`` on ``x[a[j]], x[b[j]]`` for every ``j``: one bitwise cell over literals of ``x``.

    The form follows the truth table as :func:`lgn_hw.gates.hdl_expr` does (one
    minterm: an AND of literals; three: an OR; two: an XOR), but every
    negation reads ``neg`` (``~x``) instead of adding a cell, and a gate of one
    input inverts the opposite literal (one bit-select per gate, where ANDing
    the literal with itself read it twice). So every gate is exactly one cell
    after ``pos``/``neg``: for Icarus, every run of a layer settles in the same
    step, and the join after it sees each run change once per cycle.
    """
    table = gates.truth_table(code)
    ones = sum(table)
    if ones in (0, 4):
        return Const(-ones // 4, len(a))  # all zeros or all ones
    dep_a, dep_b = gates.DEPENDS_ON_A[code], gates.DEPENDS_ON_B[code]

    def lit(idx, positive):
        return Cat(*((pos if positive else neg)[i] for i in idx))

    if not dep_b:  # A or NOT A: the inverse of the other literal
        return ~lit(a, table[2] == 0)
    if not dep_a:  # B or NOT B
        return ~lit(b, table[1] == 0)
    if ones == 2:
        return lit(a, table[0] == 0) ^ lit(b, True)  # XOR (f(0,0) = 0) or XNOR
    odd = int(ones == 1)  # the value that occurs once, at corner (ia, ib)
    ia, ib = divmod(table.index(odd), 2)
    la, lb = lit(a, ia == odd), lit(b, ib == odd)
    return la & lb if odd else la | lb


class LutNodeLayer(wiring.Component):
    """One layer of k-input LUT nodes: ``y[i] = table[i](x[inputs[i, 0]], ..., x[inputs[i, k-1]])``.

    Each node is one expression of its ``k`` inputs (:func:`lgn_hw.gates.lut_hdl_expr`, a
    Shannon expansion), so synthesis maps it to one LUT when ``k`` fits the target's LUT;
    ``CHUNK`` nodes form a cell, and the cells join as a :class:`GateLayer`'s runs do.
    """

    def __init__(self, inputs, tables, k: int, num_in: int, *, registered: bool):
        self._inputs = np.asarray(inputs, dtype=np.int64)
        self._tables = [int(t) for t in tables]
        self.k = int(k)
        self.registered = bool(registered)
        self.latency = int(self.registered)
        super().__init__({"x": In(num_in), "y": Out(len(self._tables))})

    def elaborate(self, platform):
        m = Module()
        x = self.x
        cells = []
        for lo in range(0, len(self._tables), CHUNK):
            nodes = [gates.lut_hdl_expr(t, self.k, [x[int(i)] for i in row])
                     for t, row in zip(self._tables[lo: lo + CHUNK], self._inputs[lo: lo + CHUNK])]
            cells.append(Cat(*nodes))
        _stage(m, cells, self.registered, "luts", out=self.y)
        return m


def _bits_read(netlist) -> np.ndarray:
    """Which input bits layer 0 depends on (a gate ignoring an input, such as ``A``, does not read it)."""
    layer = netlist.layers[0]
    if getattr(layer, "kind", "gate") == "lut":
        cols, k, tables = layer.inputs, layer.k, layer.tables
    else:
        cols, k, tables = np.stack([layer.a, layer.b], axis=1), 2, layer.op.astype(np.uint64)
    mask = np.zeros(netlist.num_inputs, dtype=bool)
    for i, depends in enumerate(gates.lut_depends(tables, k)):
        mask[cols[:, i][np.asarray(depends, dtype=bool)]] = True
    return mask


def _core_encoder(netlist) -> FeatureEncoder:
    """The core's hardware encoder: the compares layer 0 reads, registered unless they are wires."""
    return FeatureEncoder(netlist.encoder, used=_bits_read(netlist), registered=None)


def _encoder_latency(netlist) -> int:
    """The latency of :func:`_core_encoder` (without building it)."""
    return 0 if encoder_is_wiring(encoder_fields(netlist.encoder), _bits_read(netlist)) else FeatureEncoder.LATENCY


def _input_register(m, in_data, reads) -> Signal:
    """``in_data`` through the input register, of the bits marked in ``reads`` only (others 0)."""
    reads = np.asarray(reads, dtype=bool)
    edges = np.flatnonzero(np.diff(np.concatenate([[0], reads.astype(np.int8), [0]])))
    runs = list(zip(edges[0::2].tolist(), edges[1::2].tolist()))  # [lo, hi) of each run of read bits
    if not runs:
        return Const(0, len(in_data))
    if len(runs) == 1 and runs[0] == (0, len(in_data)):
        read = in_data
    else:  # gathered into one wire first, so the register is cut by width alone
        read = _stage(m, [in_data[lo:hi] for lo, hi in runs], False, "in_read")
    reg = _stage(m, read, True, "in_reg")
    if read is in_data:  # every bit is read: the register is the core's input bits as they are
        return reg
    pieces, at, pos = [], 0, 0
    for lo, hi in runs:
        if lo > at:
            pieces.append(Const(0, lo - at))
        pieces.append(reg[pos: pos + hi - lo])
        at, pos = hi, pos + hi - lo
    if at < len(in_data):
        pieces.append(Const(0, len(in_data) - at))
    return _stage(m, pieces, False, "in_bits")


class LgnCore(wiring.Component):
    """The lgn-hw core for one netlist (ports and protocol: DESIGN.md section 3).

    Ports (besides ``clk``/``rst``, the ``sync`` domain with synchronous reset)
    come from :func:`lgn_hw.hdl.ports.core_ports`. See the module docstring for
    the structure and the exact meaning of :attr:`latency`.
    """

    def __init__(self, netlist, pipeline: Pipeline = Pipeline(), *, encoder: str = "host"):
        if not isinstance(pipeline, Pipeline):
            raise TypeError(f"'pipeline' must be a Pipeline, not {pipeline!r}")
        self.netlist = netlist
        self.pipeline = pipeline
        #: What ``in_data`` carries: the netlist's bits (``encoder="host"``) or raw integer features.
        self.inputs = CoreInputs(netlist, encoder)
        self.latency_parts = latency_of(netlist, pipeline, encoder)
        self.latency = self.latency_parts["total"]
        #: Output FIFO entries: every sample in flight has a place (see module docstring); 0 for "stall".
        self.fifo_depth = self.latency + 1 if pipeline.stream == "fifo" else 0
        members = {}
        for port in core_ports(netlist, in_width=self.inputs.width):
            if port.name in (CLOCK, RESET):
                continue
            members[port.name] = (In if port.direction == "in" else Out)(port.width)
        super().__init__(members)

    def elaborate(self, platform):
        m = Module()
        net, pipe = self.netlist, self.pipeline
        accept = self.in_valid & self.in_ready
        delay = INPUT_LATENCY

        enc = _core_encoder(net) if self.inputs.fields is not None else None
        # The input register holds only the bits of in_data that something reads (an MNIST core
        # reads the top bit of a few hundred of its 784 8-bit pixels); the rest are constant 0.
        data = _input_register(m, self.in_data, enc.reads if enc is not None else _bits_read(net))
        if enc is not None:  # raw features: compares and matches, then a register unless they are wires
            # Only the bits layer 0 reads: the encoder keeps its own hierarchy in synthesis, where
            # unread compares would otherwise survive.
            m.submodules.encoder = enc
            m.d.comb += enc.x.eq(data)
            data, delay = enc.y, delay + enc.latency
        width = net.num_inputs
        # Inside the core each layer's gates sit ordered by op (the last layer: by class, then
        # op), so that GateLayer forms long runs; `where` maps netlist index -> position.
        where = np.arange(net.num_inputs)
        for i, layer in enumerate(net.layers):
            registered = bool(pipe.gate_every) and (i + 1) % pipe.gate_every == 0
            if getattr(layer, "kind", "gate") == "lut":  # nodes keep their order (no runs to form)
                order = np.arange(layer.width)
                gl = LutNodeLayer(where[layer.inputs], layer.tables, layer.k, width, registered=registered)
            else:
                if i == net.depth - 1:
                    order = np.lexsort((layer.op, np.arange(layer.width) // net.outputs_per_class))
                else:
                    order = np.argsort(layer.op, kind="stable")
                gl = GateLayer(where[layer.a[order]], where[layer.b[order]], layer.op[order], width,
                               registered=registered)
            m.submodules[f"layer{i}"] = gl
            m.d.comb += gl.x.eq(data)
            where = np.empty(layer.width, dtype=np.int64)
            where[order] = np.arange(layer.width)
            data, width, delay = gl.y, layer.width, delay + gl.latency

        if pipe.lut_size:
            popcount = CounterPopcount(net.num_classes, net.outputs_per_class, every=pipe.popcount_every,
                                       lut=pipe.lut_size)
        else:
            popcount = Popcount(net.num_classes, net.outputs_per_class, every=pipe.popcount_every)
        m.submodules.popcount = popcount
        m.d.comb += popcount.x.eq(data)
        m.submodules.argmax = argmax = Argmax(
            net.num_classes, net.score_width, net.class_width, registered=pipe.argmax_registered,
            lut=pipe.lut_size)
        m.d.comb += argmax.scores.eq(popcount.scores)
        delay += popcount.latency + argmax.latency

        # Valid bits follow the datapath in a shift register (these, unlike the data, reset).
        stall = pipe.stream == "stall"
        valid = self.in_valid if stall else accept
        for i in range(delay):
            v = Signal(name=f"valid{i}")
            m.d.sync += v.eq(valid)
            valid = v

        cw = net.class_width
        if stall:
            # Every register of the core (the submodules' too) takes the enable; the results
            # leave from the last registers, which hold while the consumer stalls.
            advance = Signal()
            m.d.comb += [
                advance.eq(self.out_ready | ~self.out_valid),
                self.in_ready.eq(advance),
                self.out_valid.eq(valid),
                self.out_class.eq(argmax.cls),
                self.out_scores.eq(argmax.scores_out),
            ]
            return EnableInserter({"sync": advance})(m)

        m.submodules.fifo = fifo = SyncFIFOBuffered(width=cw + len(argmax.scores_out), depth=self.fifo_depth)
        m.d.comb += [
            fifo.w_en.eq(valid),
            fifo.w_data.eq(_join([argmax.cls, argmax.scores_out])),  # one cell: the FIFO's port is w_data
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
