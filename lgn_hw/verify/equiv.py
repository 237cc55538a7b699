"""Formal proof, with Yosys, that an exported core computes its netlist's class scores.

:func:`prove_equivalent` checks the *actual exported design* (the Verilog listed
in ``DIR/manifest.json``, pipeline, FIFO and handshake included) against an
independent combinational reference of the netlist:

- The reference (module ``lgn_equiv_ref``) is generated here with Amaranth
  straight from the netlist: each gate from :func:`lgn_hw.gates.hdl_expr` (each
  LUT node from :func:`lgn_hw.gates.lut_hdl_expr`, a Shannon expansion), each
  class score as a plain sum of its output bits, the class by a linear
  compare-and-select scan (ties to the lower class). It shares no code with the
  hardware generator's popcount trees, pipelining or argmax.
- The harness (``hdl_templates/equiv_harness.v.tmpl``) feeds one ``in_data`` vector
  ``x`` to both, held for the whole run, with ``in_valid`` and ``out_ready`` high
  and a reset in the first cycle. ``x`` is a register that keeps its initial
  value, and Yosys ``sat`` leaves initial values free, so the solver considers
  every input vector at once (registers with no initial value start at any value).
- ``sat -prove-asserts -seq N`` (``hdl_templates/equiv.ys.tmpl``) then proves,
  at every cycle up to N = accept bound + latency + extra results, that every
  result the core presents equals the reference scores and class, that the
  first result appears exactly ``latency`` cycles after the first accepted
  sample (not earlier, not later), and that a sample is accepted soon after
  reset.

Why this is sound for the function: the gate datapath is free-running and
feed-forward, so the value in each result depends on the sample that entered
``latency`` cycles earlier and on nothing else; a wrong gate, wiring, popcount
or argmax shows up in the very first result for some ``x``, which the solver
finds. What it does not cover is protocol behaviour under gaps and
backpressure over long runs (the cocotb benches test that).
"""

from __future__ import annotations

import logging
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from .. import gates
from ..hdl.export import as_export, render_template
from ..netlist.model import Netlist, atomic_write_text
from ..tools import clear_outputs, find_tool

__all__ = ["ProofResult", "reference_verilog", "prove_equivalent"]

log = logging.getLogger(__name__)

HARNESS_TEMPLATE = "equiv_harness.v.tmpl"
TOP_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
SCRIPT_TEMPLATE = "equiv.ys.tmpl"
ACCEPT_BOUND = 4


@dataclass(frozen=True)
class ProofResult:
    """``proved`` is True when Yosys found no counterexample in ``steps`` cycles."""

    proved: bool
    steps: int
    log_path: Path
    detail: str = ""
    #: True when Yosys gave no answer (out of memory, solver timeout, crash): neither proved
    #: nor refuted, so no counterexample exists to show.
    undecided: bool = False

    def __bool__(self):
        return self.proved

    def describe(self) -> str:
        if self.proved:
            return f"PROVED: the exported core computes the netlist's scores and class for every input ({self.steps} cycles checked)"
        if self.undecided:
            return f"UNDECIDED: {self.detail} (log: {self.log_path})"
        return f"FAILED: {self.detail} (log: {self.log_path})"


def reference_verilog(netlist: Netlist, fields=None) -> str:
    """Verilog of module ``lgn_equiv_ref``: ``in_data`` -> ``scores`` and ``cls``, combinational.

    With ``fields`` (the ``in_data`` layout of a core with the encoder inside,
    ``ExportDir.inputs.fields``), ``in_data`` carries the raw integer features
    and the reference encodes them as the netlist's encoder says (DESIGN.md
    section 3); without, ``in_data`` is the netlist's input bits.
    """
    from amaranth.back import verilog

    return verilog.convert(_reference(netlist, fields), name="lgn_equiv_ref", emit_src=False)


def _encoded(netlist: Netlist, fields, in_data) -> list:
    """The netlist encoder's bits of the raw features in ``in_data``: ``q > t``, ``q == v``, ``q != 0``."""
    from amaranth.hdl import Const

    from ..data.encoding import Encoder

    bits = []
    for f, feat in zip(fields, Encoder.from_dict(netlist.encoder).features):
        raw = in_data[f.offset: f.offset + f.width]
        q = raw.as_signed() if f.signed else raw.as_unsigned()
        if feat.kind == "bit":
            bits.append(raw != 0)
        elif feat.kind == "thermometer":  # Const(t) takes the shape that holds t: compares are exact
            bits += [q > Const(int(t)) for t in feat.values]
        else:
            bits += [q == Const(int(v)) for v in feat.values]
    return bits


def _reference(netlist: Netlist, fields=None):
    from amaranth.hdl import Cat, Const, Module, Mux, Signal
    from amaranth.lib import wiring
    from amaranth.lib.wiring import In, Out

    n, c, w, cw = netlist.num_inputs, netlist.num_classes, netlist.score_width, netlist.class_width
    k = netlist.outputs_per_class
    in_width = n if fields is None else sum(f.width for f in fields)

    class Reference(wiring.Component):
        def __init__(self):
            super().__init__({"in_data": In(in_width), "scores": Out(c * w), "cls": Out(cw)})

        def elaborate(self, platform):
            m = Module()
            if fields is None:
                prev = [self.in_data[i] for i in range(n)]
            else:
                enc = Signal(n, name="encoded")
                m.d.comb += enc.eq(Cat(*_encoded(netlist, fields, self.in_data)))
                prev = [enc[i] for i in range(n)]
            for li, layer in enumerate(netlist.layers):
                out = Signal(layer.width, name=f"layer{li}")
                if layer.kind == "lut":
                    bits = [gates.lut_hdl_expr(int(t), layer.k, [prev[int(i)] for i in row])
                            for t, row in zip(layer.tables, layer.inputs)]
                else:
                    bits = [gates.hdl_expr(int(op), prev[int(a)], prev[int(b)])
                            for op, a, b in zip(layer.op, layer.a, layer.b)]
                m.d.comb += out.eq(Cat(*bits))
                prev = [out[i] for i in range(layer.width)]
            scores = []
            for ci in range(c):
                s = Signal(w, name=f"score{ci}")
                m.d.comb += s.eq(_plain_sum([prev[ci * k + j] for j in range(k)]))
                scores.append(s)
            m.d.comb += self.scores.eq(Cat(*scores))
            best_s, best_c = scores[0], Const(0, cw)
            for ci in range(1, c):
                better = scores[ci] > best_s
                best_c = Mux(better, Const(ci, cw), best_c)
                best_s = Mux(better, scores[ci], best_s)
            m.d.comb += self.cls.eq(best_c)
            return m

    return Reference()


def _plain_sum(terms):
    """``terms[0] + terms[1] + ...`` as a balanced expression tree.

    A left-leaning ``sum()`` of hundreds of bits nests that deep, and Amaranth's
    expression walkers recurse once per level (RecursionError on the demo's
    400 outputs per class). Halving keeps the depth at log2(len(terms)).
    """
    if len(terms) == 1:
        return terms[0] + 0  # widen a lone bit like every other sum
    half = len(terms) // 2
    return _plain_sum(terms[:half]) + _plain_sum(terms[half:])


def prove_equivalent(netlist: Netlist, export_dir, *, extra_results: int = 2, timeout: int = 900,
                     work_dir=None) -> ProofResult:
    """Prove that the core exported in ``export_dir`` computes ``netlist``'s class scores.

    ``netlist`` may differ from the one exported (for example the unoptimised
    original of an optimised export): the proof is about the function.
    ``export_dir`` is an :class:`~lgn_hw.hdl.ExportDir` or its folder. Raises
    ValueError when the export's interface cannot match the netlist,
    :class:`~lgn_hw.tools.ToolNotFound` without Yosys. The rendered files and
    the Yosys log go to ``work_dir`` (default: an ``equiv/`` folder inside the
    export, refused when it is a link).
    """
    if not isinstance(netlist, Netlist):
        raise TypeError(f"'netlist' must be a Netlist, not {type(netlist).__name__}")
    if isinstance(extra_results, bool) or not isinstance(extra_results, int) or extra_results < 0:
        raise ValueError(f"'extra_results' must be a non-negative integer, not {extra_results!r}")
    export = as_export(export_dir)
    export.check_matches(netlist)
    work = Path(work_dir) if work_dir is not None else export.work_dir("equiv")
    work.mkdir(parents=True, exist_ok=True)
    yosys = find_tool("yosys")
    latency = export.latency
    steps = ACCEPT_BOUND + latency + extra_results + 1

    # Fresh files (written by rename, and the log removed before Yosys opens it): nothing is
    # written through a link left in the work folder.
    clear_outputs(work, ["equiv.log"])
    if not TOP_NAME.match(export.top):
        raise ValueError(f"the top module's name {export.top!r} is not a plain Verilog identifier")
    atomic_write_text(work / "lgn_equiv_ref.v", reference_verilog(netlist, export.inputs.fields))
    atomic_write_text(work / "lgn_equiv_harness.v", render_template(
        HARNESS_TEMPLATE, top=export.top, num_inputs=export.in_width,
        num_classes=netlist.num_classes, score_width=netlist.score_width,
        class_width=netlist.class_width, latency=latency, accept_bound=ACCEPT_BOUND))
    # The Verilog is read from copies under generated names: nothing from the folder but the
    # Verilog text reaches the script (a file name could hold newlines and Yosys commands).
    names = []
    for i, src in enumerate(export.sources):
        names.append(f"dut_{i}.v")
        clear_outputs(work, [names[-1]])
        atomic_write_text(work / names[-1], src.read_text(errors="replace"))
    read_dut = "\n".join(f"read_verilog -sv {name}" for name in names)
    atomic_write_text(work / "equiv.ys", render_template(
        SCRIPT_TEMPLATE, read_dut=read_dut, reference="lgn_equiv_ref.v",
        harness="lgn_equiv_harness.v", steps=steps, extra=extra_results, timeout=int(timeout)))
    log_path = work / "equiv.log"
    log.info("proving %s against the netlist with Yosys (%d cycles)", export.folder, steps)
    proc = subprocess.run([yosys, "-q", "-l", "equiv.log", "-s", "equiv.ys"],
                          cwd=work, capture_output=True, text=True)
    text = log_path.read_text() if log_path.exists() else proc.stdout + proc.stderr
    if proc.returncode == 0 and "SUCCESS!" in text:
        return ProofResult(True, steps, log_path)
    refuted, detail = _failure(text, proc)
    return ProofResult(False, steps, log_path, detail, undecided=not refuted)


_PROBLEM = re.compile(r"Solving problem with (\d+) variables and (\d+) clauses")


def _failure(text: str, proc) -> tuple[bool, str]:
    """(whether Yosys found a counterexample, what to tell the user)."""
    if "model found: FAIL!" in text or "SAT proof finished - model found" in text:
        m = re.search(r"^\s*\d+\s+\\x\s+\S+\s+(\S+)\s+([01]+)\s*$", text, re.MULTILINE)
        where = f" for input bits {m.group(2)[::-1]} (bit 0 first)" if m else ""
        return True, f"counterexample found{where}: the core's result differs from the netlist"
    problems = _PROBLEM.findall(text)
    size = (f" on {int(problems[-1][0]):,} variables and {int(problems[-1][1]):,} clauses"
            if problems else "")
    if "timeout" in text.lower() and "reached" in text.lower():
        return False, f"the SAT solver timed out{size} (raise --timeout)"
    err = (proc.stderr or "") + (proc.stdout or "")
    if "Wasm exception" in err or "out of memory" in err.lower() or "bad_alloc" in err:
        return False, (f"Yosys ran out of memory{size}: the WebAssembly Yosys (YoWASP) has at most "
                       f"4 GB; set YOSYS to a native Yosys, or prove a smaller core")
    lines = [ln for ln in (proc.stderr or text).splitlines() if ln.strip()]
    return False, "yosys failed: " + (lines[-1] if lines else f"exit status {proc.returncode}")
