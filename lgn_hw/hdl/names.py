"""File names that come from an export folder are data, never part of a tool script.

:func:`check_file_name` is the rule :func:`~lgn_hw.hdl.load_export` applies to
every name a manifest lists: a plain file name (no folder, no leading dot or
dash) of ``[A-Za-z0-9_.-]`` on one line. :func:`tool_copies` gives a tool the
sources under generated names (``source_0.v``, ...), so a script, a command
line or a configuration file for Yosys or Verilator holds only names this
package made up.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

__all__ = ["check_file_name", "tool_copies", "FILE_NAME_LIMIT"]

FILE_NAME_LIMIT = 200
_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", re.ASCII)


def check_file_name(name, what: str = "file") -> str:
    """``name`` if it is a plain file name of ``[A-Za-z0-9_.-]`` (not starting with a dot or a dash,
    at most :data:`FILE_NAME_LIMIT` characters); a ``ValueError`` naming ``what`` otherwise."""
    if not isinstance(name, str) or not _FILE_NAME.fullmatch(name) or len(name) > FILE_NAME_LIMIT:
        shown = repr(name) if len(repr(name)) <= 80 else repr(name)[:77] + "..."
        raise ValueError(f"{what} {shown} must be a plain file name (letters, digits, '_', '.', '-'; "
                         f"not starting with '.' or '-'; one line, in the folder itself)")
    return name


def tool_copies(sources, folder, prefix: str = "source") -> list[Path]:
    """Copy each of ``sources`` into ``folder`` as ``<prefix>_<i><suffix>``; return the copies in order.

    An existing file or link of that name is replaced (never written through).
    """
    folder = Path(folder)
    copies = []
    for i, src in enumerate(sources):
        src = Path(src)
        dest = folder / f"{prefix}_{i}{'.sv' if src.suffix == '.sv' else '.v'}"
        if dest.is_symlink() or dest.exists():
            dest.unlink()
        shutil.copyfile(src, dest, follow_symlinks=False)
        copies.append(dest)
    return copies
