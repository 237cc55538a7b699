"""Export a netlist as Verilog plus a manifest (DESIGN.md section 3).

:func:`export` writes, into one folder::

    <top>.v             the core (Amaranth -> Verilog), one module per block
    manifest.json       what a user or a test needs (format "lgn-hw-manifest", version 2;
                        version 1, without the "encoder" entry, still reads as a host-encoder core)
    netlist.lgn.json    the netlist it was generated from
    tb_<top>.v, tb_inputs.hex, tb_expected.hex   (with testbench=True) a self-checking bench

:func:`load_export` reads such a folder back as an :class:`ExportDir`: the
sources resolved inside the folder, the netlist copy, and every claim of the
manifest checked against what the sources and the netlist show. Every stage
that works on an export (lint, equiv, verify, synth, board, UART simulation,
classify) takes that object. :func:`export` writes all or nothing: the files
go to a sibling folder and then move into the locked output folder, which must
be an export or empty (:mod:`lgn_hw.hdl.folder`); the old core's files and
records go with it, nothing else.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import signal
import string
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .. import __version__
from ..netlist.golden import evaluate
from ..netlist.model import Netlist, PathError, atomic_write_text, class_width, parse_json, read_limited
from ..resources import resource_dir
from .core import LgnCore, latency_of
from .encoder import CoreInputs
from .folder import check_export_target, claim_export_folder, move_in
from .names import check_file_name
from .ip import DEFAULT_CLOCK_MHZ, check_ip_options, ip_files, write_ip
from .pipeline import Pipeline
from .ports import core_dims, core_ports

__all__ = [
    "export", "core_verilog", "ExportDir", "load_export", "as_export", "load_manifest", "ManifestError", "top_ports", "check_top_name", "render_template",
    "MANIFEST", "MANIFEST_FORMAT", "MANIFEST_VERSION", "NETLIST_COPY", "TB_INPUTS", "TB_EXPECTED",
    "LATENCY_DEFINITION", "testbench_vectors", "result_words", "MAX_INPUT_BITS", "check_exportable",
]

log = logging.getLogger(__name__)

MANIFEST = "manifest.json"
MANIFEST_FORMAT = "lgn-hw-manifest"
MANIFEST_VERSION = 2
#: manifest versions this reader takes (1: before the encoder entry; such a core reads bits)
MANIFEST_VERSIONS = (1, 2)
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


def testbench_vectors(netlist: Netlist, samples: int, seed: int = 0, inputs=None) -> np.ndarray:
    """``in_data`` bits for the testbench: all zeros, all ones, then uniform random bits; or, for a
    core with the encoder inside (``inputs`` a :class:`CoreInputs` of mode ``"hw"``), feature
    values at the grid's edges and beside every threshold, then uniform ones."""
    samples = _check_count("testbench_samples", samples, 1)
    rng = np.random.default_rng(seed)
    if inputs is not None and inputs.mode == "hw":
        return inputs.random(samples, rng)
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


def result_words(netlist: Netlist, classes, scores) -> np.ndarray:
    """The result ``{out_scores, out_class}`` the core presents for each sample, as little-endian
    ``uint32`` words ``(n, ceil((class_width + num_classes * score_width) / 32))``: the class in
    bits ``[0, class_width)``, class c's score at ``[class_width + c * score_width, +score_width)``.
    The plain testbench (``tb_expected.hex``) and the native harness both compare against these."""
    cls = np.asarray(classes).reshape(-1)
    scores = np.asarray(scores)
    n, cw, w = len(cls), netlist.class_width, netlist.score_width
    if scores.shape != (n, netlist.num_classes):
        raise ValueError(f"scores must have shape ({n}, {netlist.num_classes}), not {scores.shape}")
    total = cw + netlist.num_classes * w
    acc = np.zeros((n, total // 64 + 1), dtype=np.uint64)
    fields = [(cls, cw, 0)] + [(scores[:, c], w, cw + c * w) for c in range(netlist.num_classes)]
    for values, width, pos in fields:
        v = values.astype(np.uint64) & np.uint64((1 << width) - 1)
        word, shift = divmod(pos, 64)
        acc[:, word] |= v << np.uint64(shift)
        if shift + width > 64:
            acc[:, word + 1] |= v >> np.uint64(64 - shift)
    return np.ascontiguousarray(acc.astype("<u8").view("<u4")[:, :-(-total // 32)])


def _expected_words(netlist: Netlist, bits) -> str:
    """``{scores, class}`` per sample, as the core presents them, in hex."""
    result = evaluate(netlist, bits)
    digits = (netlist.class_width + netlist.num_classes * netlist.score_width + 3) // 4
    rows = result_words(netlist, result.classes, result.scores).tolist()
    return "".join(f"{sum(x << (32 * i) for i, x in enumerate(row)):0{digits}x}\n" for row in rows)


def core_verilog(core: LgnCore, top: str) -> str:
    """The Verilog text ``export`` writes for ``core`` (without its header comment); the proof
    compares an export's output stage with it (``lgn_hw.verify.proof.output_stage_part``)."""
    from amaranth.back import verilog

    # emit_src=False: pyverilog cannot parse (* src *) attributes inside expressions.
    return verilog.convert(core, name=top, emit_src=False)


def export(netlist: Netlist, out_dir, *, top: str = "lgn_top", pipeline: Pipeline = Pipeline(),
           encoder: str = "host", testbench: bool = False, testbench_samples: int = 200, seed: int = 0,
           quiet: bool = False, axis: bool = False, vivado_part: str | None = None,
           clock_mhz: float = DEFAULT_CLOCK_MHZ) -> dict:
    """Write the core's Verilog, the manifest and a netlist copy to ``out_dir``; return the manifest.

    ``encoder="hw"`` builds the netlist's (quantized) encoder into the core, so
    ``in_data`` carries raw integer features; ``"host"`` keeps the bit inputs.

    With ``testbench=True`` also a self-checking Icarus testbench over
    ``testbench_samples`` random samples (``seed`` fixes both the samples and
    the bench's valid/ready pattern). A progress bar on stderr shows the
    steps unless ``quiet``.

    Every export also carries a FuseSoC core and its support files
    (:func:`lgn_hw.hdl.ip.write_ip`): ``axis=True`` adds the AXI4-Stream wrapper,
    ``vivado_part`` the Vivado out-of-context script for that part, ``clock_mhz``
    is the clock of the constraints; with the testbench also a standalone cocotb bench.
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
    if not isinstance(axis, bool):
        raise TypeError(f"'axis' must be a bool, not {axis!r}")
    ip_options = {"axis": axis, "vivado_part": vivado_part, "clock_mhz": clock_mhz}
    check_ip_options(vivado_part, clock_mhz)
    out = Path(out_dir)
    if out.is_symlink() and out.is_dir():
        out = out.resolve()   # the user named a link to a folder: the export goes where it points
    if out.exists() and not out.is_dir():
        raise ValueError(f"output folder {str(out)!r} exists and is not a folder")
    out = Path(os.path.abspath(out))
    if not out.name:
        raise ValueError(f"output folder must not be the root of the file system, not {str(out)!r}")
    netlist.validate()
    check_exportable(netlist)
    check_export_target(out)   # a folder of someone's own files is refused before any work

    from tqdm.auto import tqdm

    bar = tqdm(total=3 + testbench, desc="export", unit="step", leave=False,
               disable=quiet or not sys.stderr.isatty())  # no redraws in a log file
    t0 = time.perf_counter()
    bar.set_postfix_str(f"Amaranth -> Verilog, {netlist.num_gates} gates")
    core = LgnCore(netlist, pipeline, encoder=encoder)
    verilog_text = core_verilog(core, top)
    log.info("converted %d gates to Verilog in %.1f s", netlist.num_gates, time.perf_counter() - t0)
    bar.update(2)
    bar.set_postfix_str("writing files")

    # All or nothing: everything is written into a sibling folder, then moved into the locked out
    # (an export or an empty folder; only the old export's own files and records go: folder.py).
    out.parent.mkdir(parents=True, exist_ok=True)
    with claim_export_folder(out) as old:
        stage = Path(tempfile.mkdtemp(prefix=f".{out.name}.export-", dir=out.parent))
        try:
            manifest = _write_files(stage, netlist, core, verilog_text, top, pipeline, testbench,
                                    samples, seed, bar, ip_options)
            move_in(stage, out, written=set(_export_files(manifest)), old=old)
        finally:
            if stage.exists():
                shutil.rmtree(stage, ignore_errors=True)
    bar.update(bar.total - bar.n)
    bar.close()
    return manifest


def _write_files(out: Path, netlist, core, verilog_text, top, pipeline, testbench, samples, seed,
                 bar, ip_options) -> dict:
    vfile = f"{top}.v"
    header = (f"// Generated by lgn-hw {__version__} (lgn-hw export): top {top}, "
              f"{netlist.num_gates} gates, latency {core.latency} cycles. Do not edit.\n")
    atomic_write_text(out / vfile, header + verilog_text)
    netlist.save(out / NETLIST_COPY)

    bar.update(1)
    tb = words = None
    if testbench:
        bar.set_postfix_str("testbench")
        words = testbench_vectors(netlist, samples, seed, core.inputs)
        tbfile = f"tb_{top}.v"
        atomic_write_text(out / TB_INPUTS, _hex_words(words))
        atomic_write_text(out / TB_EXPECTED, _expected_words(netlist, core.inputs.netlist_bits(words)))
        atomic_write_text(out / tbfile, render_template(
            TB_TEMPLATE, top=top, num_inputs=core.inputs.width, num_classes=netlist.num_classes,
            score_width=netlist.score_width, class_width=netlist.class_width, samples=samples,
            latency=core.latency, seed=seed))
        tb = {"file": tbfile, "inputs": TB_INPUTS, "expected": TB_EXPECTED,
              "samples": samples, "seed": seed,
              "run": f"iverilog -g2012 -o sim {tbfile} {vfile} && vvp sim"}
    ip_entry, axis_entry = write_ip(out, netlist=netlist, core=core, top=top, vfile=vfile,
                                    testbench_words=words, tb=tb, seed=seed, **ip_options)

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
        "ports": [p.to_dict() for p in core_ports(netlist, in_width=core.inputs.width)],
        "encoder": core.inputs.manifest(),
        "testbench": tb,
        "ip": ip_entry,
        "axis": axis_entry,
        "generator": f"lgn-hw {__version__}",
    }
    atomic_write_text(out / MANIFEST, json.dumps(manifest, indent=1) + "\n")
    return manifest




# -- the export's own files (the folder itself is replaced in folder.py) ---------------------------

def _export_files(manifest) -> list[str]:
    """The plain file names an export's manifest lists as its own (Verilog, netlist copy, bench)."""
    names = [MANIFEST]
    if not isinstance(manifest, dict):
        return names
    names += [v for v in manifest.get("verilog") or [] if isinstance(v, str)]
    names.append(manifest.get("netlist", NETLIST_COPY))
    tb = manifest.get("testbench")
    if isinstance(tb, dict):
        names += [tb.get("file"), tb.get("inputs"), tb.get("expected")]
    names += ip_files(manifest)
    return [n for n in names if isinstance(n, str) and _is_plain(n)]


def _is_plain(name: str) -> bool:
    try:
        return check_file_name(name) == name
    except ValueError:
        return False


@contextlib.contextmanager
def _interrupt_deferred():
    """Hold Ctrl-C (SIGINT) back for the block and raise it afterwards (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    caught = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: caught.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if caught:
        raise KeyboardInterrupt


# -- reading an export folder -----------------------------------------------------------------------

MANIFEST_LIMIT = 16 << 20   # bytes; a manifest holds a few fields, the ports and an encoder description

_REQUIRED = {
    "format": str, "version": int, "top": str, "verilog": list, "latency": int,
    "num_inputs": int, "num_classes": int, "score_width": int, "class_width": int,
    "gates": int, "netlist_sha256": str, "pipeline": dict,
}


def _read_json(path: Path):
    """The JSON value in regular file ``path`` (at most :data:`MANIFEST_LIMIT` bytes, strict); ManifestError otherwise."""
    try:
        raw = read_limited(path, MANIFEST_LIMIT, "manifest")
    except FileNotFoundError:
        raise ManifestError(f"{path}: missing; is {path.parent} an 'lgn-hw export' folder?") from None
    except (PathError, OSError) as exc:
        raise ManifestError(str(exc) if isinstance(exc, PathError) else f"{path}: cannot read ({exc.strerror})") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ManifestError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    return parse_json(text, str(path), ManifestError)


def _inside(folder: Path, name, what: str) -> Path:
    """``folder/name`` resolved, refusing anything that is not a regular file inside ``folder``."""
    if not isinstance(name, str) or not name or "\0" in name:
        raise ManifestError(f"{folder / MANIFEST}: {what} must be a file name, not {name!r}")
    rel = Path(name)
    if not rel.is_absolute() and ".." not in rel.parts:
        try:   # names are data: one plain line of [A-Za-z0-9_.-], never a script's text (issue 22)
            check_file_name(name, what)
        except ValueError as exc:
            raise ManifestError(f"{folder / MANIFEST}: {exc}") from None
    if rel.is_absolute() or ".." in rel.parts:
        raise ManifestError(f"{folder / MANIFEST}: {what} {name!r} must be a path inside the folder "
                            "(no absolute path, no '..')")
    path = (folder / rel).resolve()
    if not path.is_relative_to(folder):
        raise ManifestError(f"{folder / MANIFEST}: {what} {name!r} leads out of the folder "
                            f"(to {path})")
    if not path.is_file():
        raise ManifestError(f"{folder / MANIFEST}: lists {name!r}, which is missing from {folder} "
                            f"(the {what})" if not path.exists() else
                            f"{folder / MANIFEST}: {what} {name!r} is not a regular file")
    return path


def load_manifest(folder) -> dict:
    """Read ``folder/manifest.json`` and check it on its own; raise :class:`ManifestError` naming the problem.

    Checks the format and version, every required field's type and range, that
    the widths agree with each other, and that every file it lists is a
    regular file inside the folder. :func:`load_export` checks the claims
    against the sources and the netlist; use it to work with an export.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise ManifestError(f"{folder}: no such export folder (run 'lgn-hw export' first)")
    folder = folder.resolve()
    path = folder / MANIFEST
    data = _read_json(path)
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
    if data["version"] not in MANIFEST_VERSIONS:
        raise ManifestError(f"{path}: unsupported version {data['version']!r}, this reader knows "
                            f"{', '.join(map(str, MANIFEST_VERSIONS))}")
    mode = data.get("encoder", {"mode": "host"})
    if data["version"] == 1 and "encoder" in data:
        raise ManifestError(f"{path}: a version-1 manifest has no 'encoder' entry")
    if not isinstance(mode, dict) or mode.get("mode") not in ("host", "hw"):
        raise ManifestError(f"{path}: field 'encoder' must be an object with mode 'host' or 'hw', "
                            f"not {_short(mode)}")
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
        _inside(folder, name, "Verilog file")
    _inside(folder, data.get("netlist", NETLIST_COPY), "netlist")
    return data


_DECL = re.compile(r"\b(input|output|inout)\b\s*((?:(?:wire|reg|logic|signed|unsigned)\b\s*)*)"
                   r"(\[[^\]]*\])?\s*([^;()]*?)\s*(?=[;)]|\b(?:input|output|inout)\b)")
_COMMENTS = re.compile(r"//[^\n]*|/\*.*?\*/", re.S)
_DIRECTION = {"input": "in", "output": "out", "inout": "inout"}


def _const(expr: str) -> int:
    """A width bound such as ``6`` or ``7-1`` (integer + - * only)."""
    import ast

    def ev(node):
        if isinstance(node, ast.Constant) and isinstance(node.value, int) and not isinstance(node.value, bool):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
            return -ev(node.operand)
        if isinstance(node, ast.BinOp) and isinstance(node.op, (ast.Add, ast.Sub, ast.Mult)):
            a, b = ev(node.left), ev(node.right)
            return a + b if isinstance(node.op, ast.Add) else a - b if isinstance(node.op, ast.Sub) else a * b
        raise ValueError(expr)

    try:
        return ev(ast.parse(expr.strip(), mode="eval").body)
    except (SyntaxError, ValueError, RecursionError):
        raise ValueError(f"width bound {expr.strip()!r} is not a plain integer expression") from None


def top_ports(texts, top: str) -> list[tuple[str, str, int]]:
    """``(name, dir, width)`` of module ``top``'s ports as declared in the Verilog ``texts``.

    A light reader of port declarations (ANSI or not) with integer widths, to
    measure the interface the sources really have; raises ValueError when the
    module is missing or a declaration is beyond it.
    """
    start = re.compile(rf"^\s*module\s+\\?{re.escape(top)}(?=[\s(#;])", re.M)
    for text in texts:
        found = start.search(text)
        if found is None:
            continue
        end = text.find("endmodule", found.end())
        body = _COMMENTS.sub(" ", text[found.end(): end if end >= 0 else len(text)])
        ports = {}
        for decl in _DECL.finditer(body):
            direction, _, rng, names = decl.groups()
            width = 1
            if rng:
                bounds = rng[1:-1].split(":")
                if len(bounds) != 2:
                    raise ValueError(f"module {top}: cannot read the range {rng!r}")
                width = abs(_const(bounds[0]) - _const(bounds[1])) + 1
            for name in names.split(","):
                name = name.strip().lstrip("\\")
                if name:
                    ports[name] = (name, _DIRECTION[direction], width)
        return list(ports.values())
    raise ValueError(f"no module {top!r} in the Verilog sources")


@dataclass(frozen=True, eq=False)
class ExportDir:
    """An ``lgn-hw export`` folder, read and checked once (:func:`load_export`); every stage takes this.

    The inputs are the Verilog ``sources`` and the ``netlist`` copy they were
    generated from; the manifest's claims are checked against what can be
    measured from them: the widths and gate count against the netlist, the
    latency against what the netlist and the pipeline imply, the top module's
    ports against the Verilog. ``manifest`` is the checked manifest, for
    fields not spelled here.
    """

    folder: Path                 # resolved
    top: str
    sources: tuple               # the Verilog files, resolved, inside the folder, in manifest order
    netlist: Netlist = field(repr=False)   # the copy the core was generated from
    netlist_path: Path
    pipeline: Pipeline
    latency: int                 # cycles, as the netlist and the pipeline imply (and the manifest says)
    latency_parts: dict
    ports: tuple                 # the core's Port list, checked against the top module in the sources
    inputs: CoreInputs = field(repr=False)   # what in_data carries and how it maps to the netlist's bits
    manifest: dict = field(repr=False)

    @property
    def encoder(self) -> str:
        """``"hw"`` when the encoder is inside the core (in_data carries raw features), else ``"host"``."""
        return self.inputs.mode

    @property
    def in_width(self) -> int:
        """Bits of ``in_data``."""
        return self.inputs.width

    @property
    def num_inputs(self) -> int:
        return self.netlist.num_inputs

    @property
    def num_classes(self) -> int:
        return self.netlist.num_classes

    @property
    def score_width(self) -> int:
        return self.netlist.score_width

    @property
    def class_width(self) -> int:
        return self.netlist.class_width

    @property
    def gates(self) -> int:
        return self.netlist.num_gates

    @property
    def source_names(self) -> list[str]:
        """The sources relative to the folder, as the manifest lists them."""
        return list(self.manifest["verilog"])

    def work_dir(self, name: str) -> Path:
        """``folder/name`` as a real folder inside the export to write into (created when missing).

        A link there (which could lead anywhere) or a file of that name is refused.
        """
        path = self.folder / name
        if path.is_symlink() or (path.exists() and not path.is_dir()):
            raise ManifestError(f"{path}: is a {'link' if path.is_symlink() else 'file'}, not a folder; "
                                "remove it (nothing is written through links out of the export)")
        path.mkdir(exist_ok=True)
        return path

    def reference(self, netlist=None) -> Netlist:
        """The netlist to check the core against: ``netlist`` (a Netlist or a file), or else the copy.

        A given netlist must pass :meth:`check_matches`.
        """
        if netlist is None:
            return self.netlist
        from ..netlist.model import load as load_netlist

        net = netlist if isinstance(netlist, Netlist) else load_netlist(netlist)
        self.check_matches(net, name=None if isinstance(netlist, Netlist) else netlist)
        return net

    def check_matches(self, netlist: Netlist, name=None) -> bool:
        """Raise ValueError unless ``netlist`` fits this core's ports; return whether it is the copy itself.

        A different netlist with the same interface (say the unoptimised
        original of an optimised export) is allowed: simulation or a proof then
        says whether it computes the same function.
        """
        if not isinstance(netlist, Netlist):
            raise TypeError(f"'netlist' must be a Netlist, not {netlist!r}")
        have, want = core_dims(self), core_dims(netlist)
        for key, value in want.items():
            if have[key] != value:
                raise ValueError(f"{name or 'netlist'}: {key} is {value} but the core in {self.folder} "
                                 f"has {have[key]}: this netlist does not belong to this core")
        if self.encoder == "hw" and netlist.encoder != self.netlist.encoder:
            raise ValueError(f"{name or 'netlist'}: its encoder differs from the one built into the core "
                             f"in {self.folder}: this netlist does not belong to this core")
        same = netlist.sha256() == self.manifest["netlist_sha256"]
        if not same:
            log.info("%s differs from the netlist %s was exported from", name or "netlist", self.folder)
        return same


def load_export(folder) -> ExportDir:
    """Read the export in ``folder`` once and check every claim of its manifest; raise :class:`ManifestError`."""
    from ..netlist.model import load as load_netlist

    data = load_manifest(folder)
    folder = Path(folder).resolve()
    path = folder / MANIFEST
    sources = tuple(_inside(folder, name, "Verilog file") for name in data["verilog"])
    netlist_path = _inside(folder, data.get("netlist", NETLIST_COPY), "netlist")
    try:
        net = load_netlist(netlist_path)
    except ValueError as exc:   # NetlistError
        raise ManifestError(f"{netlist_path}: the export's netlist copy is unusable: {exc}") from None
    pipeline = Pipeline.from_dict(data["pipeline"])
    mode = data.get("encoder", {"mode": "host"})["mode"]
    try:
        inputs = CoreInputs(net, mode)
    except ValueError as exc:
        raise ManifestError(f"{path}: field 'encoder': {exc}") from None
    parts = latency_of(net, pipeline, mode)
    ports = core_ports(net, in_width=inputs.width)
    derived = {**core_dims(net), "gates": net.num_gates, "netlist_sha256": net.sha256(),
               "latency": parts["total"]}
    optional = {"layers": net.depth, "outputs_per_class": net.outputs_per_class,
                "latency_parts": {k: v for k, v in parts.items() if k != "total"},
                "ports": [p.to_dict() for p in ports], "encoder": inputs.manifest()}
    for key, want in [*derived.items(), *((k, v) for k, v in optional.items() if k in data)]:
        if data[key] != want:
            raise ManifestError(f"{path}: field {key!r} is {_short(data[key])} but the netlist copy "
                                f"{netlist_path.name} and the pipeline give {_short(want)}")
    try:
        texts = [src.read_text(errors="replace") for src in sources]
        measured = top_ports(texts, data["top"])
    except ValueError as exc:
        raise ManifestError(f"{folder}: cannot read the ports of the Verilog: {exc}") from None
    want = {(p.name, p.direction, p.width) for p in ports}
    if set(measured) != want:
        got = set(measured)
        raise ManifestError(f"{folder}: the Verilog module {data['top']!r} has other ports than the "
                            f"netlist copy implies: unexpected {sorted(got - want) or 'none'}, "
                            f"missing {sorted(want - got) or 'none'}")
    return ExportDir(folder=folder, top=data["top"], sources=sources, netlist=net,
                     netlist_path=netlist_path, pipeline=pipeline, latency=parts["total"],
                     latency_parts=parts, ports=tuple(ports), inputs=inputs, manifest=data)


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def as_export(export) -> ExportDir:
    """``export`` itself when it is an :class:`ExportDir`, else :func:`load_export` of that folder."""
    return export if isinstance(export, ExportDir) else load_export(export)
