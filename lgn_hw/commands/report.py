"""``lgn-hw report RUN_DIR``: one self-contained HTML page of a run, from training to timing."""

from __future__ import annotations

from ..cli import UsageError


def register(sub):
    p = sub.add_parser(
        "report", help="write one self-contained HTML page of a run: training, network, hardware",
        description="Write one HTML file that opens offline (styles and charts inline, no request "
        "leaves the page) with the run's settings, its training curves (soft and discrete accuracy, "
        "the discretization gap, loss, learning rate, the best epoch marked), the network (gates, ops "
        "and unused gates per layer, gate-usage perplexity, what the optimiser removed), and per "
        "export folder its synthesis reports, verification records and waveform. Every chart has a "
        "table of its numbers.")
    p.add_argument("run_dir", metavar="RUN_DIR", help="training run folder (config.json, metrics.jsonl)")
    p.add_argument("--export", action="append", default=[], metavar="DIR",
                   help="an export folder (manifest.json, synth-*/report.json, verify records); repeatable")
    p.add_argument("--frontier", metavar="FILE.json", help="output of bench/frontier.py --json to plot")
    p.add_argument("--out", default=None, metavar="FILE",
                   help="the HTML file to write (default RUN_DIR/report.html)")
    p.set_defaults(func=run)


def run(args) -> int:
    from pathlib import Path

    from ..report import ReportError, write_report

    out = Path(args.out) if args.out else Path(args.run_dir) / "report.html"
    try:
        path = write_report(args.run_dir, out, exports=args.export, frontier=args.frontier)
    except ReportError as exc:
        raise UsageError(str(exc)) from None
    print(path)
    return 0
