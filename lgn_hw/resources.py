"""Where the shipped non-Python files live: ``hdl_templates/`` and ``sim/``.

In a checkout (or an editable install) they sit at the repository root; in a
wheel they are force-included under ``lgn_hw/_shipped/``.
"""

from __future__ import annotations

from pathlib import Path

__all__ = ["resource_dir"]

_PKG = Path(__file__).resolve().parent


def resource_dir(name: str) -> Path:
    """The folder ``name`` (``"hdl_templates"`` or ``"sim"``)."""
    for candidate in (_PKG / "_shipped" / name, _PKG.parent / name):
        if candidate.is_dir():
            return candidate
    raise FileNotFoundError(f"lgn-hw is missing its {name}/ folder; reinstall the package")
