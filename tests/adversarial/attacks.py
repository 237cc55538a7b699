"""The attacker's helpers: a tiny network, a mutant of it, the key the old cache trusted, manifest edits."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np

from lgn_hw import gates
from lgn_hw.netlist import Layer, Netlist, evaluate, random_netlist

SAMPLES = 24


def tiny_net() -> Netlist:
    return random_netlist(6, [8, 6], 2, seed=21)


def mutant(net: Netlist) -> Netlist:
    """``net`` with one gate's op complemented, so that the class or scores change on the test samples."""
    bits = np.random.default_rng(0).integers(0, 2, (SAMPLES, net.num_inputs), dtype=np.uint8)
    want = evaluate(net, bits)
    layer = net.layers[0]
    for i in range(layer.width):
        op = layer.op.copy()
        op[i] = gates.NUM_OPS - 1 - op[i]
        other = net.with_layers([Layer(layer.a, layer.b, op)] + list(net.layers[1:]))
        got = evaluate(other, bits)
        if (got.classes != want.classes).any() or (got.scores != want.scores).any():
            return other
    raise AssertionError("no single-gate mutation changes the outputs")


def recomputable_key(sim: str, folder: Path, top: str = "lgn_top") -> str:
    """The build key an attacker recomputes from the folder: the sources hashed as the old cache did."""
    h = hashlib.sha256(f"{sim}\0{top}\0{0}\0{('1ns', '1ps')}".encode())
    for name in json.loads((folder / "manifest.json").read_text())["verilog"]:
        h.update(name.encode() + b"\0" + (folder / name).read_bytes() + b"\0")
    return h.hexdigest()[:16]


def edit_manifest(folder: Path, **changes) -> None:
    data = json.loads((folder / "manifest.json").read_text())
    data.update(changes)
    (folder / "manifest.json").write_text(json.dumps(data))
