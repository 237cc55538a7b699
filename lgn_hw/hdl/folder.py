"""The export folder as a place to write: only an export (or an empty folder) is replaced, only its own
files, in place, and one exporter at a time.

:func:`claim_export_folder` creates the folder when missing, locks it (``flock``
on the folder itself, as a training run folder is locked: a second exporter is
refused at once) and refuses a folder that holds files but no export, so a
user's own ``lgn_top.v`` or ``manifest.json`` is never replaced.
:func:`move_in` then moves a complete export, written beside the folder, into
it: the old export's own files (the names an export writes, as far as the old
manifest lists them; never a name only the manifest says is its) and the
records of the old core (``verify-*``, ``equiv.json``, ``synth-*``, ``equiv``) go, the user's
other files stay, and the folder itself stays the same folder (a shell inside
it stays in the live one).
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from pathlib import Path

__all__ = ["claim_export_folder", "check_export_target", "move_in", "RECORD_FILE", "RECORD_FOLDER"]

#: entries of an export folder that record results for the core it holds (dropped by a re-export):
#: the verification records and their waveforms (files), the synthesis and equivalence folders
RECORD_FILE = re.compile(r"verify-[a-z0-9_]+\.(json|vcd|fst)|equiv\.json", re.ASCII)
RECORD_FOLDER = re.compile(r"synth-[A-Za-z0-9_.-]+|equiv", re.ASCII)


def _is_record(folder: Path, name: str) -> bool:
    path = folder / name
    if RECORD_FILE.fullmatch(name):
        return path.is_file() or path.is_symlink()
    return bool(RECORD_FOLDER.fullmatch(name)) and (path.is_dir() or path.is_symlink())


def _old_manifest(out: Path):
    """The JSON object of ``out``'s manifest when ``out`` is an export, ``None`` when it is empty;
    :class:`~lgn_hw.hdl.ManifestError` when it holds files but no export."""
    from .export import MANIFEST, MANIFEST_FORMAT, ManifestError, _read_json

    if not any(os.scandir(out)):
        return None
    try:
        data = _read_json(out / MANIFEST)
    except ManifestError:
        data = None
    if not isinstance(data, dict) or data.get("format") != MANIFEST_FORMAT:
        raise ManifestError(f"{out}: holds files but is not an export (no {MANIFEST} of an "
                            f"'lgn-hw export'); export into a new or empty folder, or an earlier export")
    return data


def check_export_target(out: Path) -> None:
    """Refuse early (before any work) an ``out`` that exists, holds files and is not an export."""
    if Path(out).is_dir():
        _old_manifest(Path(out))


@contextlib.contextmanager
def claim_export_folder(out: Path):
    """Hold ``out`` for one export (created if missing, locked, checked); yield its old manifest or None."""
    from ..netlist.model import locked_folder
    from .export import ManifestError

    busy = "another export is writing to this folder; wait for it to end or choose another --out"
    with locked_folder(out, ManifestError, busy) as out:
        yield _old_manifest(out)


def _own_files(manifest) -> set:
    """The old export's own files: the names an export writes (for the old top) that its manifest lists."""
    from .export import MANIFEST, NETLIST_COPY, TB_EXPECTED, TB_INPUTS, _export_files
    from .names import check_file_name

    own = {MANIFEST}
    if not isinstance(manifest, dict):
        return own
    top = manifest.get("top")
    written = {NETLIST_COPY, TB_INPUTS, TB_EXPECTED}
    try:
        top = check_file_name(top)
        from .axis import axis_top
        from .ip import COCOTB_DIR, IP_DIR, VIVADO_SCRIPT

        written |= {f"{top}.v", f"tb_{top}.v", f"{top}.core", f"{axis_top(top)}.v", IP_DIR, COCOTB_DIR,
                    VIVADO_SCRIPT}
    except ValueError:
        pass
    return own | (set(_export_files(manifest)) & written)


def _remove(path: Path) -> None:
    """Remove a file, a link (never what it points to) or a folder tree."""
    if path.is_symlink() or not path.is_dir():
        path.unlink(missing_ok=True)
    else:
        shutil.rmtree(path)


def move_in(stage: Path, out: Path, *, written, old) -> None:
    """Move the complete export in ``stage`` into the claimed folder ``out`` (Ctrl-C held back meanwhile).

    The old manifest goes first and the new one comes last, so a reader never takes the new manifest
    for a folder of old files; ``old`` is the old manifest (:func:`claim_export_folder`)."""
    from .export import MANIFEST, _interrupt_deferred

    stale = _own_files(old) if old is not None else set()
    stale |= {e for e in os.listdir(out) if _is_record(out, e)}
    with _interrupt_deferred():
        _remove(out / MANIFEST)
        for name in sorted(stale - {MANIFEST} - set(written)):
            _remove(out / name)
        for name in sorted(set(written) - {MANIFEST}):
            if (out / name).is_dir() and not (out / name).is_symlink():
                shutil.rmtree(out / name)
            os.replace(stage / name, out / name)
        os.replace(stage / MANIFEST, out / MANIFEST)
