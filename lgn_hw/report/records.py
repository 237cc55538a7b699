"""The record a verification run leaves in its export folder: ``verify-<sim>.json`` (the report reads it).

``lgn-hw verify`` and ``lgn-hw demo`` write one per simulator (the latest run
replaces the previous one); it holds the settings (seed, handshake gap and
stall chances), the per-test results of the bench (samples, results checked,
mismatches, cycles, throughput, latency), the first failure, a copy of the
waveform (``verify-<sim>.vcd``) and the hashes of the exact core it checked
(:func:`lgn_hw.hdl.digest.core_digest`, taken when the folder was loaded).

The report reads records through :func:`read_verify_records` and
:func:`read_inside`: only regular files inside the folder, bounded, strict JSON
of the expected shape; a record is shown only while its hashes match the core
the folder holds now.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from ..hdl.digest import DIGEST_KEYS, core_digest
from ..hdl.names import check_file_name
from ..netlist.model import PathError, atomic_path, atomic_write_text, parse_json, read_limited

__all__ = ["RECORD_GLOB", "RECORD_LIMIT", "record_path", "write_verify_record", "read_verify_records",
           "EQUIV_RECORD", "write_equiv_record", "read_equiv_record",
           "inside_file", "read_inside", "read_json_inside", "matches_core"]

RECORD_GLOB = "verify-*.json"
#: the largest record, synthesis report or other JSON file of an export folder the report reads
RECORD_LIMIT = 16 << 20
_TEST_KEYS = ("samples", "results", "mismatches", "cycles", "total_cycles", "throughput", "latency_min",
              "latency_max", "first_failure", "patterns")
_WAVE_SUFFIXES = (".vcd", ".fst")


def record_path(export_dir, sim: str) -> Path:
    return Path(export_dir) / f"verify-{sim}.json"


def _still_the_core(export_dir, core: dict, done: str):
    """The export in ``export_dir`` if it still holds the core ``core`` names (a :func:`core_digest`
    taken when the run loaded it); ``ValueError`` when it was re-exported meanwhile."""
    from ..hdl.export import load_export

    if not isinstance(core, dict) or any(not isinstance(core.get(k), str) for k in DIGEST_KEYS):
        raise TypeError(f"'core' must be the core_digest() of the export {done}, not {core!r}")
    export = load_export(export_dir)
    if core_digest(export)["sources_sha256"] != core["sources_sha256"]:
        raise ValueError(f"{export.folder}: the core changed while it was {done} (re-exported?); "
                         "no record written for it")
    return export


def write_verify_record(export_dir, result, *, core: dict, seed, gap_prob, stall_prob, inputs=None) -> Path:
    """Write the record of ``result`` (a :class:`lgn_hw.verify.VerifyResult`) into ``export_dir``.

    ``core`` is :func:`~lgn_hw.hdl.digest.core_digest` of the export as it was loaded for the run
    (and of the reference netlist it was checked against). When the folder no longer holds those
    sources (re-exported while the run went on) no record is written: ``ValueError``.
    """
    export = _still_the_core(export_dir, core, "verified")
    wave = None
    if result.waveform is not None and Path(result.waveform).suffix in _WAVE_SUFFIXES:
        wave = f"verify-{result.sim}{Path(result.waveform).suffix}"
        with atomic_path(export.folder / wave) as tmp:   # the run folder lies in the build cache
            shutil.copyfile(result.waveform, tmp)
    tests = {name: {k: t[k] for k in _TEST_KEYS if k in t} for name, t in (result.tests or {}).items()}
    record = {
        "format": "lgn-hw-verify", "version": 2,
        "sim": result.sim, "bench": result.bench, "samples": result.samples, "checked": result.checked,
        "mismatches": result.mismatches, "cycles": result.cycles, "throughput": result.throughput,
        "latency": result.latency, "expected_latency": result.expected_latency, "passed": result.passed,
        "first_failure": result.message, "failed_tests": list(result.failed_tests), "accuracy": result.accuracy,
        "seed": seed, "gap_prob": gap_prob, "stall_prob": stall_prob,
        "inputs": None if inputs is None else str(inputs),
        "tests": tests,
        "waveform": wave,
        **{k: core[k] for k in DIGEST_KEYS},
    }
    path = record_path(export.folder, result.sim)
    atomic_write_text(path, json.dumps(record, indent=1, default=str) + "\n")
    return path


#: the record ``lgn-hw equiv`` (parts method) and ``lgn-hw demo`` leave in the export folder
EQUIV_RECORD = "equiv.json"
_PART_STATUS = ("proved", "failed", "undecided")


def write_equiv_record(export_dir, result, *, core: dict) -> Path:
    """Write the record of a decomposed proof (:class:`lgn_hw.verify.PartsResult`) into ``export_dir``:
    the verdict, each part (name, claim, status, seconds) and the hashes of the core and netlist it
    proved (``core``: :func:`~lgn_hw.hdl.digest.core_digest` taken when the folder was loaded). No
    record when the folder no longer holds that core: ``ValueError``."""
    export = _still_the_core(export_dir, core, "proved")
    record = {
        "format": "lgn-hw-equiv", "version": 1, "method": "parts", "verdict": result.verdict,
        "detail": result.detail or None, "seconds": round(result.seconds, 2),
        "parts": [{"name": p.name, "claim": p.claim, "status": p.status, "seconds": round(p.seconds, 3)}
                  for p in result.parts],
        **{k: core[k] for k in DIGEST_KEYS},
    }
    path = Path(export.folder) / EQUIV_RECORD
    atomic_write_text(path, json.dumps(record, indent=1) + "\n")
    return path


def read_equiv_record(export, digest: dict) -> dict | None:
    """The proof record of the export folder: the record, ``{"error"}`` when it cannot be shown
    (unreadable, of the wrong shape, made for another core), or None when there is none."""
    folder = export.folder
    if not (folder / EQUIV_RECORD).exists() and not (folder / EQUIV_RECORD).is_symlink():
        return None
    try:
        rec = read_json_inside(folder, EQUIV_RECORD, "proof record")
    except ValueError as exc:
        return {"error": f"not shown: {exc}"}
    ok = (isinstance(rec, dict) and rec.get("format") == "lgn-hw-equiv"
          and rec.get("verdict") in ("PROVED", "FAILED", "UNDECIDED")
          and _fits(rec.get("seconds"), (*_NUM, None)) and isinstance(rec.get("parts"), list)
          and all(isinstance(p, dict) and isinstance(p.get("name"), str) and isinstance(p.get("claim"), str)
                  and p.get("status") in _PART_STATUS and _fits(p.get("seconds"), (*_NUM, None))
                  for p in rec["parts"]))
    if not ok:
        return {"error": f"{EQUIV_RECORD} is not an lgn-hw proof record of the expected shape; not shown"}
    if not matches_core(rec, digest):
        return {"error": f"{EQUIV_RECORD} was made for another core or netlist than the one the folder "
                         "holds; not shown"}
    return rec


# -- reading a folder's records ---------------------------------------------------------------------

def inside_file(folder, rel: str, what: str) -> Path:
    """``folder/rel`` when ``rel`` is plain names joined by ``/`` and it is a regular file inside
    ``folder`` (also after links); a ``ValueError`` (:class:`~lgn_hw.netlist.model.PathError`) otherwise."""
    folder = Path(folder).resolve()
    parts = rel.split("/") if isinstance(rel, str) else [rel]
    for part in parts:
        check_file_name(part, what)
    path = folder.joinpath(*parts)
    if not path.resolve().is_relative_to(folder):
        raise PathError(f"{path}: leads out of the folder {folder}; not read")
    if not path.is_file():
        try:
            read_limited(path, 0, what)   # refuses a device, FIFO or folder, naming what it is
        except FileNotFoundError as exc:
            raise PathError(str(exc)) from None
        raise PathError(f"{path}: not a regular {what} file")
    return path


def read_inside(folder, rel: str, what: str, limit: int = RECORD_LIMIT) -> bytes:
    """The bytes of ``folder/rel`` (:func:`inside_file`), at most ``limit`` bytes."""
    try:
        return read_limited(inside_file(folder, rel, what), limit, what)
    except OSError as exc:
        raise PathError(f"{Path(folder) / rel}: cannot read ({exc.strerror or exc})") from None


def read_json_inside(folder, rel: str, what: str, limit: int = RECORD_LIMIT):
    """The strict JSON value of ``folder/rel`` read by :func:`read_inside`; ``ValueError`` otherwise."""
    raw = read_inside(folder, rel, what, limit)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{Path(folder) / rel}: not UTF-8 text (byte {exc.start})") from None
    return parse_json(text, str(Path(folder) / rel))


def matches_core(data: dict, digest: dict) -> bool:
    """Whether a record's hashes name the core ``digest`` describes."""
    return all(isinstance(data.get(k), str) and data.get(k) == digest[k] for k in DIGEST_KEYS)


_NUM = (int, float)
#: the record fields the report shows, with the JSON types each may have (None: may be null)
_SCHEMA = {
    "sim": (str,), "bench": (str, None), "samples": (int, None), "checked": (int, None),
    "mismatches": (int, None), "cycles": (int, None), "throughput": (*_NUM, None), "latency": (int, None),
    "passed": (bool,), "first_failure": (str, None), "failed_tests": (list, None), "tests": (dict, None),
    "gap_prob": (*_NUM, None), "stall_prob": (*_NUM, None), "waveform": (str, None),
}
_TEST_SCHEMA = {"samples": (int, None), "results": (int, None), "mismatches": (int, None),
                "cycles": (int, None), "throughput": (*_NUM, None), "latency_min": (int, None),
                "latency_max": (int, None), "first_failure": (str, None)}


def _fits(value, kinds) -> bool:
    if value is None:
        return None in kinds
    if isinstance(value, bool):
        return bool in kinds
    return isinstance(value, tuple(k for k in kinds if k is not None and k is not bool))


def _schema_error(rec) -> str | None:
    if not isinstance(rec, dict):
        return f"must hold a JSON object, not {type(rec).__name__}"
    if rec.get("format") != "lgn-hw-verify":
        return "is not an lgn-hw verification record"
    for key, kinds in _SCHEMA.items():
        if not _fits(rec.get(key), kinds):
            return f"field {key!r} has the wrong type ({type(rec.get(key)).__name__})"
    if not all(isinstance(t, str) for t in rec.get("failed_tests") or []):
        return "field 'failed_tests' must list names"
    for name, test in (rec.get("tests") or {}).items():
        if not isinstance(test, dict) or not all(_fits(test.get(k), kinds) for k, kinds in _TEST_SCHEMA.items()):
            return f"test {name[:40]!r} has fields of the wrong type"
    return None


def read_verify_records(export, digest: dict | None = None) -> list[dict]:
    """The records in the export folder (an :class:`~lgn_hw.hdl.ExportDir`), by simulator name.

    Each is the record itself, or ``{"sim", "error"}`` for one that cannot be shown: unreadable,
    not of the record's shape, or made for another core than the one the folder holds now
    (``digest``, by default :func:`~lgn_hw.hdl.digest.core_digest` of ``export``).
    """
    digest = core_digest(export) if digest is None else digest
    folder = export.folder
    out = []
    for p in sorted(folder.glob(RECORD_GLOB)):
        sim = p.stem[len("verify-"):][:40]
        try:
            rec = read_json_inside(folder, p.name, "verification record")
        except ValueError as exc:    # PathError, bad JSON, a name that is not plain
            out.append({"sim": sim, "error": f"not shown: {exc}"})
            continue
        problem = _schema_error(rec)
        if problem is None and not matches_core(rec, digest):
            problem = ("names no core (no hashes); not shown" if not any(k in rec for k in DIGEST_KEYS) else
                       "was made for another core or reference netlist than the one the folder holds; "
                       "not shown")
        if problem is not None:
            out.append({"sim": sim, "error": f"{p.name} {problem}"})
            continue
        rec["path"] = str(p)
        out.append(rec)
    return out
