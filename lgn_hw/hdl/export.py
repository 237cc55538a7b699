"""Export a netlist as Verilog plus a manifest (DESIGN.md section 3).

:func:`export` writes, into one folder::

    <top>.v             the core (Amaranth -> Verilog), one module per block
    manifest.json       what a user or a test needs (format "lgn-hw-manifest", version 1)
    netlist.lgn.json    the netlist it was generated from
    tb_<top>.v, tb_inputs.hex, tb_expected.hex   (with testbench=True) a self-checking bench

:func:`load_manifest` reads the manifest back and validates it.
"""

from __future__ import annotations

import json
import logging
import re
import string
import time
from pathlib import Path

import numpy as np

from .. import __version__
from ..netlist.golden import evaluate
from ..netlist.model import Netlist, atomic_write_text, class_width
from ..resources import resource_dir
from .core import LgnCore
from .pipeline import Pipeline
from .ports import core_ports

__all__ = [
    "export", "load_manifest", "ManifestError", "check_top_name", "render_template",
    "MANIFEST", "MANIFEST_FORMAT", "MANIFEST_VERSION", "NETLIST_COPY", "TB_INPUTS", "TB_EXPECTED",
    "LATENCY_DEFINITION", "testbench_vectors", "MAX_INPUT_BITS", "check_exportable",
]

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "lgn-hw-manifest"
MANIFEST_VERSION = 1
NETLIST_COPY = "netlist.lgn.json"
TB_INPUTS = "tb_inputs.hex"
TB_EXPECTED = "tb_expected.hex"
TB_TEMPLATE = "tb_lgn.v.tmpl"
LATENCY_DEFINITION = (
    "a sample transferred in on rising edge t (in_valid & in_ready) is transferred out on "
    "rising edge t + latency (out_valid & out_ready) when out_ready is held high"
)

_IDENT = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
# Verilog-2005 / SystemVerilog keywords a module name must not be (the ones a user might type).
_KEYWORDS = frozenset("""
always and assign automatic begin buf case casex casez cell config deassign default defparam
design disable edge else end endcase endconfig endfunction endgenerate endmodule endprimitive
endspecify endtable endtask event for force forever fork function generate genvar if ifnone
initial inout input instance integer join large liblist library localparam macromodule medium
module nand negedge nmos nor not or output parameter pmos posedge primitive pull0 pull1 pulldown
pullup reg release repeat rtran scalared signed small specify specparam strong0 strong1 supply0
supply1 table task time tran tri tri0 tri1 triand trior trireg unsigned use uwire vectored wait
wand weak0 weak1 while wire wor xnor xor logic bit byte int shortint longint class interface
package program property sequence string struct typedef union enum void break continue return
""".split())


class ManifestError(ValueError):
    """A manifest (or its folder) is missing, malformed or inconsistent; one line."""


def check_top_name(top) -> str:
    """Return ``top`` if it is a plain Verilog identifier (not a keyword), else raise."""
    if not isinstance(top, str):
        raise TypeError(f"top module name must be a string, not {top!r}")
    if not _IDENT.match(top) or top in _KEYWORDS or len(top) > 200:
        raise ValueError(
            f"top module name must be a Verilog identifier (letters, digits, '_', not starting "
            f"with a digit, not a keyword), not {top!r}")
    return top


def render_template(name: str, **values) -> str:
    """Fill ``hdl_templates/<name>`` (``string.Template``: ``${key}``, ``$$`` for ``$``)."""
    path = resource_dir("hdl_templates") / name
    text = path.read_text()
    try:
        return string.Template(text).substitute({k: str(v) for k, v in values.items()})
    except KeyError as exc:
        raise ValueError(f"{path}: template needs a value for {exc.args[0]!r}") from None


#: the widest in_data port exported: 2^20 input flip-flops already exceed the largest FPGAs
MAX_INPUT_BITS = 2**20


def check_exportable(netlist: Netlist) -> Netlist:
    """``netlist`` if its core can be built; a ``ValueError`` (before any memory is spent on
    the optimiser or Amaranth) when its input port is wider than :data:`MAX_INPUT_BITS`."""
    if netlist.num_inputs > MAX_INPUT_BITS:
        raise ValueError(f"num_inputs {netlist.num_inputs} is more than the {MAX_INPUT_BITS} input bits "
                         "an exported core may have")
    return netlist


def _check_count(name, value, minimum):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"'{name}' must be an integer, not {value!r}")
    if value < minimum:
        raise ValueError(f"'{name}' must be at least {minimum}, not {value!r}")
    return int(value)


def testbench_vectors(netlist: Netlist, samples: int, seed: int = 0) -> np.ndarray:
    """Input bits for the testbench: all zeros, all ones, then uniform random bits."""
    samples = _check_count("testbench_samples", samples, 1)
    rng = np.random.default_rng(seed)
    bits = rng.integers(0, 2, (samples, netlist.num_inputs), dtype=np.uint8)
    bits[0] = 0
    if samples > 1:
        bits[1] = 1
    return bits


def _hex_words(rows) -> str:
    """One hex word per row of 0/1 bits, bit i of the row being bit i of the word."""
    rows = np.asarray(rows, dtype=np.uint8)
    digits = (rows.shape[1] + 3) // 4
    lines = []
    for row in rows:
        value = int("".join("1" if b else "0" for b in row[::-1].tolist()) or "0", 2)
        lines.append(f"{value:0{digits}x}")
    return "\n".join(lines) + "\n"


def _expected_words(netlist: Netlist, bits) -> str:
    """``{scores, class}`` per sample, as the core presents them, in hex."""
    result = evaluate(netlist, bits)
    w, cw = netlist.score_width, netlist.class_width
    total = cw + netlist.num_classes * w
    digits = (total + 3) // 4
    lines = []
    for cls, scores in zip(result.classes.tolist(), result.scores.tolist()):
        word = int(cls)
        for c, s in enumerate(scores):
            word |= int(s) << (cw + c * w)
        lines.append(f"{word:0{digits}x}")
    return "\n".join(lines) + "\n"


def _to_verilog(core: LgnCore, top: str) -> str:
    from amaranth.back import verilog

    # emit_src=False: pyverilog cannot parse (* src *) attributes inside expressions.
    return verilog.convert(core, name=top, emit_src=False)


def export(netlist: Netlist, out_dir, *, top: str = "lgn_top", pipeline: Pipeline = Pipeline(),
           testbench: bool = False, testbench_samples: int = 200, seed: int = 0,
           quiet: bool = False) -> dict:
    """Write the core's Verilog, the manifest and a netlist copy to ``out_dir``; return the manifest.

    With ``testbench=True`` also a self-checking Icarus testbench over
    ``testbench_samples`` random samples (``seed`` fixes both the samples and
    the bench's valid/ready pattern). A progress bar on stderr shows the
    steps unless ``quiet``.
    """
    if not isinstance(netlist, Netlist):
        raise TypeError(f"'netlist' must be a Netlist, not {netlist!r}")
    top = check_top_name(top)
    if not isinstance(pipeline, Pipeline):
        raise TypeError(f"'pipeline' must be a Pipeline, not {pipeline!r}")
    if not isinstance(testbench, bool):
        raise TypeError(f"'testbench' must be a bool, not {testbench!r}")
    samples = _check_count("testbench_samples", testbench_samples, 1)
    seed = _check_count("seed", seed, 0)
    out = Path(out_dir)
    if out.exists() and not out.is_dir():
        raise ValueError(f"output folder {str(out)!r} exists and is not a folder")
    netlist.validate()
    check_exportable(netlist)

    from tqdm.auto import tqdm

    bar = tqdm(total=3 + testbench, desc="export", unit="step", disable=quiet, leave=False)
    t0 = time.perf_counter()
    bar.set_postfix_str(f"Amaranth -> Verilog, {netlist.num_gates} gates")
    core = LgnCore(netlist, pipeline)
    verilog_text = _to_verilog(core, top)
    log.info("converted %d gates to Verilog in %.1f s", netlist.num_gates, time.perf_counter() - t0)
    bar.update(2)
    bar.set_postfix_str("writing files")

    out.mkdir(parents=True, exist_ok=True)
    vfile = f"{top}.v"
    header = (f"// Generated by lgn-hw {__version__} (lgn-hw export): top {top}, "
              f"{netlist.num_gates} gates, latency {core.latency} cycles. Do not edit.\n")
    atomic_write_text(out / vfile, header + verilog_text)
    netlist.save(out / NETLIST_COPY)

    bar.update(1)
    tb = None
    if testbench:
        bar.set_postfix_str("testbench")
        bits = testbench_vectors(netlist, samples, seed)
        tbfile = f"tb_{top}.v"
        atomic_write_text(out / TB_INPUTS, _hex_words(bits))
        atomic_write_text(out / TB_EXPECTED, _expected_words(netlist, bits))
        atomic_write_text(out / tbfile, render_template(
            TB_TEMPLATE, top=top, num_inputs=netlist.num_inputs, num_classes=netlist.num_classes,
            score_width=netlist.score_width, class_width=netlist.class_width, samples=samples,
            latency=core.latency, seed=seed))
        tb = {"file": tbfile, "inputs": TB_INPUTS, "expected": TB_EXPECTED,
              "samples": samples, "seed": seed,
              "run": f"iverilog -g2012 -o sim {tbfile} {vfile} && vvp sim"}

    manifest = {
        "format": MANIFEST_FORMAT,
        "version": MANIFEST_VERSION,
        "top": top,
        "verilog": [vfile],
        "latency": core.latency,
        "num_inputs": netlist.num_inputs,
        "num_classes": netlist.num_classes,
        "score_width": netlist.score_width,
        "class_width": netlist.class_width,
        "gates": netlist.num_gates,
        "netlist_sha256": netlist.sha256(),
        "pipeline": pipeline.to_dict(),
        # Additions beyond DESIGN.md section 3:
        "latency_definition": LATENCY_DEFINITION,
        "latency_parts": {k: v for k, v in core.latency_parts.items() if k != "total"},
        "fifo_depth": core.fifo_depth,
        "layers": netlist.depth,
        "outputs_per_class": netlist.outputs_per_class,
        "netlist": NETLIST_COPY,
        "ports": [p.to_dict() for p in core_ports(netlist)],
        "testbench": tb,
        "generator": f"lgn-hw {__version__}",
    }
    atomic_write_text(out / MANIFEST, json.dumps(manifest, indent=1) + "\n")
    bar.update(bar.total - bar.n)
    bar.close()
    return manifest


_REQUIRED = {
    "format": str, "version": int, "top": str, "verilog": list, "latency": int,
    "num_inputs": int, "num_classes": int, "score_width": int, "class_width": int,
    "gates": int, "netlist_sha256": str, "pipeline": dict,
}


def load_manifest(folder) -> dict:
    """Read ``folder/manifest.json`` and check it; raise :class:`ManifestError` naming the problem.

    Checks the format and version, every required field's type and range, that
    the widths agree with each other, and that the listed Verilog files exist.
    """
    folder = Path(folder)
    path = folder / MANIFEST
    if not folder.is_dir():
        raise ManifestError(f"{folder}: no such export folder (run 'lgn-hw export' first)")
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise ManifestError(f"{path}: missing; is {folder} an 'lgn-hw export' folder?") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path}: not valid JSON ({exc})") from None
    if not isinstance(data, dict):
        raise ManifestError(f"{path}: must hold a JSON object, got {type(data).__name__}")
    for key, kind in _REQUIRED.items():
        if key not in data:
            raise ManifestError(f"{path}: missing field {key!r}")
        value = data[key]
        if not isinstance(value, kind) or (kind is int and isinstance(value, bool)):
            raise ManifestError(f"{path}: field {key!r} must be {kind.__name__}, got {value!r}")
    if data["format"] != MANIFEST_FORMAT:
        raise ManifestError(f"{path}: format must be {MANIFEST_FORMAT!r}, got {data['format']!r}")
    if data["version"] != MANIFEST_VERSION:
        raise ManifestError(f"{path}: unsupported version {data['version']!r}, this reader knows "
                            f"{MANIFEST_VERSION}")
    try:
        check_top_name(data["top"])
    except ValueError as exc:
        raise ManifestError(f"{path}: field 'top': {exc}") from None
    for key in ("latency", "num_inputs", "num_classes", "score_width", "class_width", "gates"):
        if data[key] < 1:
            raise ManifestError(f"{path}: field {key!r} must be at least 1, got {data[key]!r}")
    cw = class_width(data["num_classes"])
    if data["class_width"] != cw:
        raise ManifestError(f"{path}: class_width {data['class_width']} does not fit "
                            f"num_classes {data['num_classes']} (expected {cw})")
    try:
        Pipeline.from_dict(data["pipeline"])
    except (TypeError, ValueError) as exc:
        raise ManifestError(f"{path}: field 'pipeline': {exc}") from None
    if not data["verilog"] or not all(isinstance(f, str) for f in data["verilog"]):
        raise ManifestError(f"{path}: field 'verilog' must list file names, got {data['verilog']!r}")
    for name in data["verilog"]:
        if Path(name).name != name:
            raise ManifestError(f"{path}: Verilog file {name!r} must be a plain name in the folder")
        if not (folder / name).is_file():
            raise ManifestError(f"{path}: lists {name!r}, which is missing from {folder}")
    return data
