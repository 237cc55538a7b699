"""The record a verification run leaves in its export folder: ``verify-<sim>.json`` (the report reads it).

``lgn-hw verify`` and ``lgn-hw demo`` write one per simulator (the latest run
replaces the previous one); it holds the settings (seed, handshake gap and
stall chances), the per-test results of the bench (samples, results checked,
mismatches, cycles, throughput, latency), the first failure and the waveform.
"""

from __future__ import annotations

import json
from pathlib import Path

__all__ = ["RECORD_GLOB", "record_path", "write_verify_record", "read_verify_records"]

RECORD_GLOB = "verify-*.json"
_TEST_KEYS = ("samples", "results", "mismatches", "cycles", "total_cycles", "throughput", "latency_min",
              "latency_max", "first_failure", "patterns")


def record_path(export_dir, sim: str) -> Path:
    return Path(export_dir) / f"verify-{sim}.json"


def write_verify_record(export_dir, result, *, seed, gap_prob, stall_prob, inputs=None) -> Path:
    """Write the record of ``result`` (a :class:`lgn_hw.verify.VerifyResult`) into ``export_dir``."""
    from ..netlist.model import atomic_write_text

    tests = {name: {k: t[k] for k in _TEST_KEYS if k in t} for name, t in (result.tests or {}).items()}
    record = {
        "format": "lgn-hw-verify", "version": 1,
        "sim": result.sim, "bench": result.bench, "samples": result.samples, "checked": result.checked,
        "mismatches": result.mismatches, "cycles": result.cycles, "throughput": result.throughput,
        "latency": result.latency, "expected_latency": result.expected_latency, "passed": result.passed,
        "first_failure": result.message, "failed_tests": list(result.failed_tests), "accuracy": result.accuracy,
        "seed": seed, "gap_prob": gap_prob, "stall_prob": stall_prob,
        "inputs": None if inputs is None else str(inputs),
        "tests": tests,
        "waveform": None if result.waveform is None else str(Path(result.waveform).resolve()),
    }
    path = record_path(export_dir, result.sim)
    atomic_write_text(path, json.dumps(record, indent=1, default=str) + "\n")
    return path


def read_verify_records(export_dir) -> list[dict]:
    """The records in ``export_dir``, by simulator name; an unreadable one is skipped with its error noted."""
    out = []
    for p in sorted(Path(export_dir).glob(RECORD_GLOB)):
        try:
            rec = json.loads(p.read_text())
        except (OSError, ValueError) as exc:
            out.append({"sim": p.stem[len("verify-"):], "error": f"{p}: {exc}"})
            continue
        if isinstance(rec, dict) and rec.get("format") == "lgn-hw-verify":
            rec["path"] = str(p)
            out.append(rec)
    return out
