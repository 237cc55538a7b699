"""Export folders from someone else: a tiny honest export, copied for each test to tamper with."""

from __future__ import annotations

import pytest

from lgn_hw.hdl import export

from .attacks import tiny_net


@pytest.fixture(scope="module")
def honest(tmp_path_factory):
    """A clean export of :func:`tiny_net` (copy it before tampering)."""
    out = tmp_path_factory.mktemp("honest") / "hw"
    export(tiny_net(), out, quiet=True)
    return out


@pytest.fixture
def folder(honest, tmp_path):
    """A private copy of the honest export, to tamper with."""
    out = tmp_path / "hw"
    out.mkdir()
    for f in honest.iterdir():
        if f.is_file():   # the ip/ folder (FuseSoC support files) is not what these tests tamper with
            (out / f.name).write_bytes(f.read_bytes())
    return out
