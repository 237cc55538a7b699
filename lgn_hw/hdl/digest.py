"""The fingerprint of an exported core: what a verification or synthesis record says it checked.

:func:`core_digest` hashes the exact bytes of the Verilog sources (in manifest
order, names left out) and names the netlist the core was checked against. A
record (``verify-<sim>.json``, ``synth-<target>/report.json``) carries both;
``lgn-hw report`` shows a record only while the folder still holds that core.
"""

from __future__ import annotations

import hashlib

from ..netlist.model import Netlist, read_limited

__all__ = ["core_digest", "sources_sha256", "SOURCE_LIMIT", "DIGEST_KEYS"]

#: the largest Verilog source hashed (a few hundred bytes a gate; 4M gates stay below it)
SOURCE_LIMIT = 4 << 30
DIGEST_KEYS = ("sources_sha256", "netlist_sha256")


def sources_sha256(paths) -> str:
    """SHA-256 of the bytes of ``paths`` in order (each regular file, bounded; names not included)."""
    h = hashlib.sha256(b"lgn-hw verilog sources\0")
    for path in paths:
        data = read_limited(path, SOURCE_LIMIT, "Verilog")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.hexdigest()


def core_digest(export, reference: Netlist | None = None) -> dict:
    """``{"sources_sha256", "netlist_sha256"}`` of ``export`` (an :class:`~lgn_hw.hdl.ExportDir`):
    its sources as they are now and the netlist it is checked against (``reference``, by default the
    export's netlist copy)."""
    net = export.netlist if reference is None else reference
    if not isinstance(net, Netlist):
        raise TypeError(f"'reference' must be a Netlist, not {reference!r}")
    return {"sources_sha256": sources_sha256(export.sources), "netlist_sha256": net.sha256()}
