"""The run report: one self-contained HTML page from training to timing (``lgn-hw report``).

:func:`build_report` reads a training run folder (``config.json``,
``metrics.jsonl``, ``best.lgn.json``) and any export folders (``manifest.json``,
``synth-*/report.json``, the ``verify-*.json`` records of
:mod:`lgn_hw.report.records` and the VCD waveform one names) and returns the page:
styles inline, charts as inline SVG (:mod:`lgn_hw.report.charts`), no script
and no reference to anything outside the page. Every chart has a table of the
same numbers beside it.
"""

from __future__ import annotations

import html
import json
import math
import platform
from pathlib import Path

from .. import __version__
from .charts import Series, bar_chart, line_chart, scatter_chart

__all__ = ["build_report", "write_report", "ReportError"]


class ReportError(ValueError):
    """A run or export folder the report cannot read (one line naming it)."""


_CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:0;color:#1d2330;background:#f6f7f9}
header{background:#1d2330;color:#fff;padding:18px 32px}header h1{margin:0;font-size:22px}
header p{margin:4px 0 0;color:#c5cad3;font-size:13px}
main{max-width:1100px;margin:0 auto;padding:8px 24px 40px}
section{background:#fff;border:1px solid #dde1e7;border-radius:8px;margin:18px 0;padding:14px 20px}
h2{font-size:18px;margin:4px 0 10px}h3{font-size:15px;margin:14px 0 6px}
.kv{display:grid;grid-template-columns:max-content 1fr;gap:3px 18px;font-size:14px}
.kv dt{color:#5b6472}.kv dd{margin:0}
table{border-collapse:collapse;font-size:13px;margin:6px 0}
th,td{border:1px solid #dde1e7;padding:3px 8px;text-align:right}th{background:#eef1f5}
td:first-child,th:first-child{text-align:left}
details{margin:6px 0}summary{cursor:pointer;color:#2c5aa0;font-size:13px}
svg.chart{max-width:100%;height:auto}.note{color:#5b6472;font-size:13px}
.pass{color:#17803d;font-weight:600}.fail{color:#b42318;font-weight:600}
"""


def _e(v) -> str:
    return html.escape(str(v))


def _num(v, fmt="{}") -> str:
    if v is None or (isinstance(v, float) and math.isnan(v)):
        return "-"
    return fmt.format(v)


def _cell(v, fmt) -> str:
    """``v`` formatted; a value of an unexpected type (a file said a string where a number belongs) as "-"."""
    if isinstance(v, str):
        return v
    if isinstance(v, bool) or (v is not None and not isinstance(v, (int, float))):
        return "-"
    try:
        return _num(v, fmt)
    except (TypeError, ValueError, OverflowError):
        return "-"


def _table(table_id, head, rows, *, fmts=None) -> str:
    fmts = fmts or ["{}"] * len(head)
    out = [f'<table id="{_e(table_id)}"><thead><tr>' + "".join(f"<th>{_e(h)}</th>" for h in head)
           + "</tr></thead><tbody>"]
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{_e(_cell(v, f))}</td>" for v, f in zip(row, fmts)) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


def _figure(svg, table_html, label="numbers") -> str:
    return f'<figure>{svg}<details><summary>table of the {label}</summary>{table_html}</details></figure>'


def _kv(pairs) -> str:
    return '<dl class="kv">' + "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in pairs) + "</dl>"


#: the largest config.json / frontier file and metrics.jsonl the report reads
JSON_LIMIT = 16 << 20
METRICS_LIMIT = 256 << 20
WAVE_LIMIT = 1 << 30
#: epochs drawn and tabled at most: a longer run shows every n-th epoch (and the best and the last)
MAX_ROWS = 2000
_ROW_NUMBERS = ("train_acc", "train_discrete", "val_soft", "val_discrete", "test_soft", "test_discrete",
                "train_loss", "lr", "time")


def _read_bytes(path: Path, limit: int, what: str) -> bytes:
    """A regular file's bytes, bounded (no device, FIFO or folder, also behind a link); ReportError."""
    from ..netlist.model import read_limited

    try:
        return read_limited(path, limit, what)
    except FileNotFoundError:
        raise ReportError(f"{path}: cannot read (no such {what} file)") from None
    except (OSError, ValueError) as exc:   # PathError
        raise ReportError(str(exc) if str(exc).startswith(str(path)) else
                          f"{path}: cannot read ({getattr(exc, 'strerror', None) or exc})") from None


def _read_json(path: Path, what: str = "JSON", *, kind=dict):
    """The strict JSON value of ``path`` (bounded, regular file), which must be a ``kind``; ReportError."""
    from ..netlist.model import parse_json

    raw = _read_bytes(path, JSON_LIMIT, what)
    try:
        data = parse_json(raw.decode("utf-8"), str(path), ReportError)
    except UnicodeDecodeError as exc:
        raise ReportError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    if not isinstance(data, kind):
        raise ReportError(f"{path}: must hold a JSON {'object' if kind is dict else kind.__name__}, "
                          f"not {type(data).__name__}")
    return data


def _is_num(v) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)


def read_metrics(path: Path) -> list[dict]:
    """The rows of a run's ``metrics.jsonl`` (one JSON object per epoch, numbers where numbers belong)."""
    from ..netlist.model import parse_json

    raw = _read_bytes(path, METRICS_LIMIT, "metrics")
    try:
        lines = raw.decode("utf-8").splitlines()
    except UnicodeDecodeError as exc:
        raise ReportError(f"{path}: not UTF-8 text (byte {exc.start})") from None
    rows = []
    for i, line in enumerate(lines, 1):
        if not line.strip():
            continue
        row = parse_json(line, f"{path} line {i}", ReportError)
        if not isinstance(row, dict) or "epoch" not in row:
            raise ReportError(f"{path}: line {i} has no epoch")
        if isinstance(row["epoch"], bool) or not isinstance(row["epoch"], int):
            raise ReportError(f"{path}: line {i}: 'epoch' must be an integer, not {str(row['epoch'])[:40]!r}")
        bad = [k for k in _ROW_NUMBERS if row.get(k) is not None and not _is_num(row[k])]
        if bad:
            raise ReportError(f"{path}: line {i}: {bad[0]!r} must be a number, not {str(row[bad[0]])[:40]!r}")
        rows.append(row)
    if not rows:
        raise ReportError(f"{path}: no epochs recorded")
    return rows


def _thin(rows, most: int = MAX_ROWS) -> list[dict]:
    """At most about ``most`` rows: every n-th, and always the best and the last."""
    if len(rows) <= most:
        return rows
    step = -(-len(rows) // most)
    best = best_epoch(rows)
    return [r for i, r in enumerate(rows) if i % step == 0 or i == len(rows) - 1 or r["epoch"] == best]


def best_epoch(rows) -> int:
    """The epoch whose netlist the run kept: the last one marked ``best``."""
    marked = [r["epoch"] for r in rows if r.get("best")]
    return marked[-1] if marked else rows[-1]["epoch"]


# --------------------------------------------------------------------------- sections

def _run_section(run_dir: Path, config: dict, rows) -> str:
    import numpy
    import torch

    layers = config.get("layers")
    width = config.get("width")
    shape = f"{layers} x {width}" if not isinstance(width, list) else " + ".join(map(str, width))
    kind = config.get("layer_kind", "gate")
    if kind != "gate":
        shape += f" ({kind}, k={config.get('k')})"
    est = config.get("estimator")
    settings = ", ".join(f"{k} {config[k]}" for k in ("resolved_tau", "gate_tau", "tau_f", "tau_b", "noise",
                                                       "connections", "init", "optimizer", "lr",
                                                       "weight_decay", "schedule", "batch_size")
                         if config.get(k) is not None)
    data = config.get("dataset") if not config.get("data") else f"{config['data']} (label {config.get('label')})"
    enc = f"thermometer, {config.get('levels') or 'preset'} levels ({config.get('thresholds') or 'default'} thresholds)"
    wall = rows[-1].get("time")
    return "<section id='run'><h2>Run</h2>" + _kv([
        ("folder", run_dir),
        ("dataset", data),
        ("encoder", enc),
        ("shape", f"{shape} gates per layer"),
        ("estimator", est),
        ("settings", settings),
        ("seed", f"{config.get('seed')} (split seed {config.get('split_seed')})"),
        ("epochs", f"{len(rows)} of {config.get('epochs')}; best epoch {best_epoch(rows)}"),
        ("wall time", f"{wall:.1f} s" if isinstance(wall, (int, float)) else "-"),
        ("versions", f"lgn-hw {__version__}, torch {torch.__version__}, numpy {numpy.__version__}, "
                     f"Python {platform.python_version()} (of this report)"),
    ]) + "</section>"


_ACC = (("train_acc", "train (soft)"), ("train_discrete", "train (discrete)"), ("val_soft", "validation (soft)"),
        ("val_discrete", "validation (discrete)"), ("test_soft", "test (soft)"), ("test_discrete", "test (discrete)"))


def _training_section(rows) -> str:
    ep = [r["epoch"] for r in rows]
    best = best_epoch(rows)
    mark = f"best epoch {best}"
    acc = [Series(label, ep, [r.get(k) for r in rows], style="--" if "soft" in label else "-")
           for k, label in _ACC if any(r.get(k) is not None for r in rows)]
    gap = [r["val_soft"] - r["val_discrete"] if r.get("val_soft") is not None and r.get("val_discrete") is not None
           else None for r in rows]
    parts = ["<section id='training'><h2>Training</h2>"]
    head = ["epoch"] + [label for k, label in _ACC if any(r.get(k) is not None for r in rows)]
    keys = [k for k, _ in _ACC if any(r.get(k) is not None for r in rows)]
    parts.append(_figure(
        line_chart("chart-accuracy", acc, xlabel="epoch", ylabel="accuracy (fraction correct)",
                   title="Accuracy per epoch: soft (dashed) and discrete (solid)", mark_x=best, mark_label=mark),
        _table("table-accuracy", head, [[r["epoch"]] + [r.get(k) for k in keys] for r in rows],
               fmts=["{}"] + ["{:.4f}"] * len(keys))))
    parts.append(_figure(
        line_chart("chart-gap", [Series("validation soft - discrete", ep, gap)], xlabel="epoch",
                   ylabel="gap (accuracy points, fraction)", title="Discretization gap", mark_x=best,
                   mark_label=mark),
        _table("table-gap", ["epoch", "gap"], [[e, g] for e, g in zip(ep, gap)], fmts=["{}", "{:.4f}"])))
    parts.append(_figure(
        line_chart("chart-loss", [Series("training loss", ep, [r.get("train_loss") for r in rows])],
                   xlabel="epoch", ylabel="cross-entropy loss (nats)", title="Training loss", mark_x=best,
                   mark_label=mark),
        _table("table-loss", ["epoch", "loss"], [[r["epoch"], r.get("train_loss")] for r in rows],
               fmts=["{}", "{:.5f}"])))
    parts.append(_figure(
        line_chart("chart-lr", [Series("learning rate", ep, [r.get("lr") for r in rows])],
                   xlabel="epoch", ylabel="learning rate (per step)", title="Learning rate", mark_x=best,
                   mark_label=mark),
        _table("table-lr", ["epoch", "learning rate"], [[r["epoch"], r.get("lr")] for r in rows],
               fmts=["{}", "{:.6g}"])))
    parts.append("</section>")
    return "".join(parts)


def _network_section(net_path: Path) -> str:
    from .. import gates
    from ..netlist import load
    from ..netlist.opt import optimize
    from ..train.metrics import gate_histogram, unused_gates

    try:
        net = load(net_path)
    except (OSError, ValueError) as exc:
        raise ReportError(f"{net_path}: cannot read the netlist ({exc})") from None
    unused = unused_gates(net)
    hist = gate_histogram(net)
    layers = [f"layer {i}" for i in range(len(net.layers))]
    rows = [[f"layer {i}", "gates" if layer.kind == "gate" else f"LUT-{layer.k}", layer.width,
             int(unused.per_layer[i]), layer.width - int(unused.per_layer[i])]
            for i, layer in enumerate(net.layers)]
    parts = ["<section id='network'><h2>Network</h2>", _kv([
        ("netlist", net_path), ("inputs", net.num_inputs),
        ("classes", f"{net.num_classes} ({net.outputs_per_class} outputs each, tau {net.tau:g})"),
        ("gates", f"{net.num_gates}, {unused.total} unused ({unused.total / max(1, net.num_gates):.1%})"),
        ("gate-usage perplexity", _num(hist.perplexity, "{:.2f}") + " (1 = one op everywhere, 16 = all ops equally)"),
    ])]
    parts.append(_figure(
        bar_chart("chart-layers", layers, {"used": [r[4] for r in rows], "unused": [r[3] for r in rows]},
                  xlabel="layer", ylabel="gates", title="Gates per layer (used and unused)", stacked=True),
        _table("table-layers", ["layer", "kind", "gates", "unused", "used"], rows)))
    per_layer = hist.per_layer
    ops = [op for op in range(gates.NUM_OPS) if per_layer[:, op].sum()] if len(per_layer) else []
    if ops:
        groups = {layers[i]: [int(per_layer[i, op]) for op in ops] for i in range(len(per_layer))}
        parts.append(_figure(
            bar_chart("chart-ops", [gates.NAMES[op] for op in ops], groups, xlabel="gates",
                      ylabel="op", title="Op histogram per layer", stacked=True, horizontal=True,
                      height=max(3.0, 0.28 * len(ops) + 1.2)),
            _table("table-ops", ["op", "code"] + layers + ["total"],
                   [[gates.NAMES[op], op] + [int(per_layer[i, op]) for i in range(len(per_layer))]
                    + [int(per_layer[:, op].sum())] for op in ops])))
    _, report = optimize(net)
    steps = [[s.round, s.name, s.before, s.after, s.changes] for s in report.steps if s.changes]
    b, a = report.before, report.after
    parts.append("<h3>What the optimiser removed</h3>")
    parts.append(f"<p id='opt-summary'>{b.total} &rarr; {a.total} gates ({b.logic} &rarr; {a.logic} logic, "
                 f"depth {b.depth} &rarr; {a.depth}) in {report.rounds} rounds; pass-through "
                 f"{b.passthrough} &rarr; {a.passthrough}, constant {b.constant} &rarr; {a.constant}.</p>")
    parts.append(_table("table-opt", ["round", "pass", "gates before", "gates after", "changes"], steps)
                 if steps else "<p class='note'>No pass changed the netlist.</p>")
    parts.append("</section>")
    return "".join(parts)


_HW_HEAD = ["target", "device", "LUTs", "FFs", "carries", "fmax MHz", "constraint MHz", "timing",
            "latency cycles", "latency ns", "throughput Msamples/s", "utilisation"]


def _clean_synth(rep: dict) -> dict:
    """A synthesis report with every value the page uses of the expected type (else left out)."""
    out = {k: rep.get(k) if _is_num(rep.get(k)) else None
           for k in ("luts", "ffs", "carries", "fmax_mhz", "freq_target_mhz", "latency_cycles", "latency_ns",
                     "throughput_sps")}
    out["target"] = rep.get("target") if isinstance(rep.get("target"), str) else "?"
    out["device"] = rep.get("device") if isinstance(rep.get("device"), str) else "?"
    out["timing_met"] = rep.get("timing_met") if isinstance(rep.get("timing_met"), bool) else None
    util = rep.get("utilization")
    out["utilization"] = ({k: util.get(k) for k in ("used", "available", "resource", "fraction")}
                          if isinstance(util, dict) and _is_num(util.get("fraction")) else {})
    blocks = rep.get("blocks") if isinstance(rep.get("blocks"), dict) else {}
    out["blocks"] = {str(b): {k: v.get(k) if _is_num(v.get(k)) else None for k in ("luts", "ffs", "carries")}
                     for b, v in blocks.items() if isinstance(v, dict)}
    return out


def _hw_row(rep) -> list:
    util = rep.get("utilization") or {}
    frac = util.get("fraction")
    tp = rep.get("throughput_sps")
    met = rep.get("timing_met")
    return [rep.get("target", "?"), rep.get("device", "?"), rep.get("luts"), rep.get("ffs"), rep.get("carries"),
            rep.get("fmax_mhz"), rep.get("freq_target_mhz"),
            "-" if met is None else ("met" if met else "NOT met"), rep.get("latency_cycles"), rep.get("latency_ns"),
            None if not tp else tp / 1e6,
            "-" if frac is None else f"{util.get('used')} / {util.get('available')} {util.get('resource')} ({frac:.1%})"]


def _synth_reports(exp, digest) -> tuple[list, list]:
    """The synthesis reports of the export ``exp`` that name its core, and a note for each other one.

    Only ``synth-*/report.json`` files inside the folder are read (no link out), bounded, as strict
    JSON objects; a report is shown only when its hashes match the core the folder holds now."""
    from .records import matches_core, read_json_inside

    reports, notes = [], []
    for d in sorted(exp.folder.glob("synth-*")):
        if not (d / "report.json").exists() and not (d / "report.json").is_symlink():
            continue
        try:
            rep = read_json_inside(exp.folder, f"{d.name}/report.json", "synthesis report")
        except ValueError as exc:
            notes.append(f"not shown: {exc}")
            continue
        if not isinstance(rep, dict):
            notes.append(f"{d.name}/report.json must hold a JSON object, not {type(rep).__name__}; not shown")
        elif not matches_core(rep, digest):
            notes.append(f"{d.name}/report.json was made for another core than the one the folder holds "
                         "(or names none); not shown")
        else:
            reports.append(_clean_synth(rep))
    return reports, notes


def _hardware_section(exports, digests) -> str:
    from ..synth.report import BLOCKS

    parts = ["<section id='hardware'><h2>Hardware</h2>"]
    found = 0
    for n, (exp, digest) in enumerate(zip(exports, digests)):
        parts.append(f"<h3>{_e(exp.folder)}</h3>")
        parts.append(_kv([("core", f"{exp.top}: {exp.gates} gates, "
                                   f"{exp.num_inputs} inputs, {exp.num_classes} classes"),
                          ("pipeline", json.dumps(exp.pipeline.to_dict())),
                          ("latency", f"{exp.latency} cycles "
                                      f"({', '.join(f'{k} {v}' for k, v in exp.latency_parts.items() if k != 'total')})")]))
        reports, notes = _synth_reports(exp, digest)
        parts.extend(f"<p class='note'>{_e(note)}</p>" for note in notes)
        if not reports:
            parts.append(f"<p class='note'>No synthesis report under {_e(exp.folder)} (lgn-hw synth {_e(exp.folder)} "
                         f"--target ... writes one).</p>")
            continue
        found += len(reports)
        fmts = ["{}", "{}", "{}", "{}", "{}", "{:.1f}", "{:g}", "{}", "{}", "{:.1f}", "{:.1f}", "{}"]
        parts.append(_table(f"table-hw-{n}", _HW_HEAD, [_hw_row(r) for r in reports], fmts=fmts))
        targets = [r.get("target", "?") for r in reports]
        blocks = [b for b in BLOCKS if any(b in (r.get("blocks") or {}) for r in reports)]
        names = {"layers": "gate layers"}
        groups = {names.get(b, b): [((r.get("blocks") or {}).get(b) or {}).get("luts", 0) for r in reports]
                  for b in blocks}
        if groups:
            parts.append(_figure(
                bar_chart(f"chart-hw-luts-{n}", targets, groups, xlabel="LUTs", ylabel="target",
                          title="LUTs by block", stacked=True, horizontal=True,
                          height=max(2.2, 0.5 * len(targets) + 1.6)),
                _table(f"table-hw-blocks-{n}", ["target", "block", "LUTs", "FFs", "carries"],
                       [[r.get("target", "?"), names.get(b, b), blk.get("luts"), blk.get("ffs"), blk.get("carries")]
                        for r in reports for b, blk in (r.get("blocks") or {}).items()]), "LUTs by block"))
        fm = [(r.get("target", "?"), r.get("fmax_mhz"), r.get("freq_target_mhz")) for r in reports
              if r.get("fmax_mhz") is not None]
        if fm:
            parts.append(_figure(
                bar_chart(f"chart-hw-fmax-{n}", [t for t, _, _ in fm],
                          {"fmax": [f for _, f, _ in fm], "constraint": [c or 0 for _, _, c in fm]},
                          xlabel="target", ylabel="clock (MHz)", title="fmax against the clock constraint"),
                _table(f"table-hw-fmax-{n}", ["target", "fmax MHz", "constraint MHz"], fm,
                       fmts=["{}", "{:.2f}", "{:g}"])))
    if not exports:
        parts.append("<p class='note'>No export folder given (--export DIR).</p>")
    parts.append("</section>")
    return "".join(parts)


def _verification_section(exports, digests, cycles: int) -> str:
    from .records import inside_file, read_equiv_record, read_verify_records
    from .waves import read_vcd, waveform_svg

    parts = ["<section id='verification'><h2>Verification</h2>"]
    drawn = False
    for n, (exp, digest) in enumerate(zip(exports, digests)):
        recs = read_verify_records(exp, digest)
        parts.append(f"<h3>{_e(exp.folder)}</h3>")
        proof = read_equiv_record(exp, digest)
        if proof is not None and "error" in proof:
            parts.append(f"<p class='note'>{_e(proof['error'])}</p>")
        elif proof is not None:
            parts.append(f"<p id='proof-{n}'>Equivalence proof (lgn-hw equiv, every input): "
                         f"<b>{_e(proof['verdict'])}</b>, {len(proof['parts'])} parts in "
                         f"{_e(proof.get('seconds'))} s" + (f": {_e(proof['detail'])}" if proof.get("detail") else "")
                         + "</p>")
            parts.append("<details><summary>parts</summary>" + _table(
                f"table-proof-{n}", ["part", "claim", "result", "seconds"],
                [[p["name"], p["claim"], p["status"], p.get("seconds")] for p in proof["parts"]],
                fmts=["{}", "{}", "{}", "{}"]) + "</details>")
        for r in recs:
            if "error" in r:
                parts.append(f"<p class='note'>{_e(r['error'])}</p>")
        recs = [r for r in recs if "error" not in r]
        if not recs:
            parts.append(f"<p class='note'>No verification record of this core in {_e(exp.folder)} "
                         f"(lgn-hw verify {_e(exp.folder)} writes verify-SIM.json).</p>")
            continue
        rows, tests = [], []
        for r in recs:
            status = "PASS" if r.get("passed") else f"FAIL: {r.get('first_failure') or ', '.join(r.get('failed_tests') or [])}"
            rows.append([r.get("sim"), r.get("bench"), r.get("samples"), r.get("checked"), r.get("mismatches"),
                         ", ".join(r.get("tests") or {}), f"gap {r.get('gap_prob')}, stall {r.get('stall_prob')}",
                         r.get("throughput"), r.get("latency"), status])
            for name, t in (r.get("tests") or {}).items():
                tests.append([r.get("sim"), name, t.get("samples"), t.get("results"), t.get("mismatches"),
                              t.get("cycles"), t.get("throughput"), t.get("latency_min"), t.get("latency_max"),
                              t.get("first_failure") or "-"])
        parts.append(_table(f"table-verify-{n}", ["simulator", "bench", "samples", "results checked", "mismatches",
                                                  "handshake patterns", "chances per cycle",
                                                  "throughput results/cycle", "latency cycles", "result"], rows,
                            fmts=["{}", "{}", "{}", "{}", "{}", "{}", "{}", "{:.3f}", "{}", "{}"]))
        parts.append("<details><summary>per pattern</summary>" + _table(
            f"table-verify-tests-{n}", ["simulator", "pattern", "samples", "results", "mismatches", "cycles",
                                        "throughput results/cycle", "latency min", "latency max", "first failure"],
            tests, fmts=["{}", "{}", "{}", "{}", "{}", "{}", "{:.3f}", "{}", "{}", "{}"]) + "</details>")
        for r in recs:
            wave = r.get("waveform")
            if drawn or not wave:
                continue
            if not wave.endswith(".vcd"):
                parts.append(f"<p class='note'>The {_e(r.get('sim'))} waveform is {_e(Path(wave).suffix)} "
                             f"({_e(wave)}); the drawing reads VCD: lgn-hw verify {_e(exp.folder)} --sim verilator "
                             f"--bench cocotb --waves records one.</p>")
                continue
            try:   # only a plain file name inside the folder (the record keeps its own copy there), bounded
                path = inside_file(exp.folder, wave, "waveform")
                if path.stat().st_size > WAVE_LIMIT:
                    raise ValueError(f"{path}: larger than the {WAVE_LIMIT >> 20} MiB a waveform may have; "
                                     "not drawn")
                w = read_vcd(path, cycles)
            except ValueError as exc:
                parts.append(f"<p class='note'>{_e(exc)}</p>")
                continue
            parts.append(f"<h3>Waveform: {len(w.edges)} cycles on {_e(r.get('sim'))}, from cycle {w.first} "
                         f"(reset and idle cycles before the first sample left out)</h3>"
                         f"<p class='note'>{_e(wave)}; values sampled at each rising edge of clk (hover a cycle "
                         f"for all of them; buses in hex, out_class in decimal).</p>"
                         f"<div style='overflow-x:auto'>{waveform_svg(w)}</div>")
            drawn = True
    parts.append("</section>")
    return "".join(parts)


def _frontier_section(path: Path) -> str:
    """Accuracy against LUT6 of a ``bench/frontier.py`` sweep (its ``frontier.json``), published rows as crosses."""
    data = _read_json(path, "frontier")
    rows = data.get("rows")
    if not isinstance(rows, list):
        raise ReportError(f"{path}: not a bench/frontier.py result (no 'rows' list)")
    rows = [r for r in rows if isinstance(r, dict)]
    groups = {}
    for r in rows:
        if _is_num(r.get("lut6")) and r["lut6"] > 0 and _is_num(r.get("discrete")):
            enc = "" if r.get("encoder_inside") else ", encoder excluded"
            groups.setdefault(f"lgn-hw {r.get('estimator')} (LUT6{enc})", []).append(
                (r["lut6"], 100 * r["discrete"], str(r.get("design"))))
    published = data.get("published") if isinstance(data.get("published"), list) else []
    pub = [p for p in published if isinstance(p, list) and len(p) >= 3 and _is_num(p[1]) and _is_num(p[2])
           and p[2] > 0]
    if pub:
        groups["published"] = [(p[2], 100 * p[1], str(p[0]).split(" (")[0]) for p in pub]
    parts = [f"<section id='frontier'><h2>Frontier: {_e(data.get('dataset', ''))}</h2>"]
    if not groups:
        parts.append(f"<p class='note'>{_e(path)} has no design with LUTs and accuracy.</p></section>")
        return "".join(parts)
    table = _table("table-frontier", ["design", "estimator", "discrete test accuracy", "LUT6", "FFs", "fmax MHz",
                                      "latency cycles"],
                   [[str(r.get("design")), str(r.get("estimator")), r.get("discrete"), r.get("lut6"), r.get("ff"),
                     r.get("fmax_mhz"), r.get("latency_cycles")] for r in rows],
                   fmts=["{}", "{}", "{:.4f}", "{}", "{}", "{:.1f}", "{}"])
    parts.append(_figure(scatter_chart("chart-frontier", groups, xlabel="LUTs (LUT6, log scale)",
                                       ylabel="discrete test accuracy (%)", title="Accuracy against LUTs",
                                       log_x=True), table))
    parts.append("</section>")
    return "".join(parts)


def build_report(run_dir, exports=(), frontier=None, *, cycles: int = 24) -> str:
    """The report page of the run in ``run_dir`` and the export folders ``exports``."""
    run_dir = Path(run_dir)
    if not run_dir.is_dir():
        raise ReportError(f"{run_dir}: not a run folder")
    from ..hdl.digest import core_digest
    from ..hdl.export import load_export

    for exp in exports:
        if not (Path(exp) / "manifest.json").exists():
            raise ReportError(f"{exp}: not an export folder (no manifest.json)")
    loaded = []
    for exp in exports:   # every claim checked, names confined to the folder (lgn_hw.hdl.load_export)
        try:
            loaded.append(load_export(exp))
        except ValueError as exc:
            raise ReportError(f"{exp}: not a usable export folder: {exc}") from None
    try:
        digests = [core_digest(exp) for exp in loaded]
    except (OSError, ValueError) as exc:
        raise ReportError(f"cannot hash the Verilog of an export folder: {exc}") from None
    config = _read_json(run_dir / "config.json", "config")
    rows = read_metrics(run_dir / "metrics.jsonl")
    body = [_run_section(run_dir, config, rows), _training_section(_thin(rows))]
    net_path = run_dir / "best.lgn.json"
    if net_path.is_file():
        body.append(_network_section(net_path))
    body.append(_hardware_section(loaded, digests))
    if loaded:
        body.append(_verification_section(loaded, digests, cycles))
    if frontier is not None:
        body.append(_frontier_section(Path(frontier)))
    title = f"lgn-hw report: {config.get('dataset') or config.get('data')}"
    return ("<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
            "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; style-src 'unsafe-inline'; "
            "img-src data:\">"
            f"<title>{_e(title)}</title><style>{_CSS}</style></head><body>"
            f"<header><h1>{_e(title)}</h1><p>{_e(run_dir)}</p></header><main>"
            + "".join(body) + "</main></body></html>\n")


def write_report(run_dir, out, exports=(), frontier=None) -> Path:
    """Write :func:`build_report` to ``out`` (atomically); return the path."""
    from ..netlist.model import atomic_write_text

    out = Path(out)
    atomic_write_text(out, build_report(run_dir, exports, frontier))
    return out
