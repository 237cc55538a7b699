"""Functional equivalence of two netlists, by the golden model.

:func:`check_equivalent` compares the class scores of two netlists on every
input when there are at most ``exhaustive_limit`` (16) inputs, and on seeded
random vectors beyond that (a test, not a proof: the result says which).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np

from .golden import evaluate
from .model import Netlist

__all__ = ["EquivResult", "check_equivalent", "all_inputs"]

log = logging.getLogger(__name__)

_CHUNK = 1 << 13


@dataclass(frozen=True)
class EquivResult:
    """``equivalent`` is True when no compared input told the netlists apart.

    ``exhaustive`` says whether every input was compared (a proof) or only
    ``vectors`` random ones. On a difference, ``counterexample`` holds the input
    bits and ``expected``/``actual`` the two score vectors.
    """

    equivalent: bool
    exhaustive: bool
    vectors: int
    counterexample: np.ndarray | None = None
    expected: np.ndarray | None = None
    actual: np.ndarray | None = None

    def __bool__(self):
        return self.equivalent

    def describe(self) -> str:
        how = "all" if self.exhaustive else "random"
        if self.equivalent:
            return f"equivalent on {how} {self.vectors} input vectors"
        bits = "".join(map(str, self.counterexample.tolist()))
        return (f"NOT equivalent: input bits {bits} give scores {self.expected.tolist()} "
                f"vs {self.actual.tolist()}")


def all_inputs(num_inputs: int, start: int = 0, stop: int | None = None) -> np.ndarray:
    """Input vectors ``start..stop-1`` of all ``2**num_inputs``: row ``v`` has bit ``i`` = bit i of v."""
    stop = (1 << num_inputs) if stop is None else stop
    v = np.arange(start, stop, dtype=np.int64)[:, None]
    return ((v >> np.arange(num_inputs)) & 1).astype(np.uint8)


def check_equivalent(net_a: Netlist, net_b: Netlist, *, exhaustive_limit: int = 16,
                     num_random: int = 100_000, seed: int = 0) -> EquivResult:
    """Compare the class scores of ``net_a`` and ``net_b`` (see the module docstring)."""
    for name, net in (("net_a", net_a), ("net_b", net_b)):
        if not isinstance(net, Netlist):
            raise TypeError(f"'{name}' must be a Netlist, not {type(net).__name__}")
    if net_a.num_inputs != net_b.num_inputs:
        raise ValueError(f"the netlists have {net_a.num_inputs} and {net_b.num_inputs} inputs")
    if net_a.num_classes != net_b.num_classes:
        raise ValueError(f"the netlists have {net_a.num_classes} and {net_b.num_classes} classes")
    if isinstance(num_random, bool) or not isinstance(num_random, int) or num_random < 1:
        raise ValueError(f"'num_random' must be a positive integer, not {num_random!r}")
    n = net_a.num_inputs
    exhaustive = n <= exhaustive_limit
    total = (1 << n) if exhaustive else num_random
    rng = np.random.default_rng(seed)
    for start in range(0, total, _CHUNK):
        stop = min(total, start + _CHUNK)
        if exhaustive:
            bits = all_inputs(n, start, stop)
        else:
            bits = rng.integers(0, 2, size=(stop - start, n), dtype=np.uint8)
        sa = evaluate(net_a, bits).scores
        sb = evaluate(net_b, bits).scores
        bad = np.flatnonzero((sa != sb).any(axis=1))
        if bad.size:
            j = int(bad[0])
            return EquivResult(False, exhaustive, start + j + 1, bits[j].copy(), sa[j], sb[j])
    log.info("netlists equivalent on %s %d vectors", "all" if exhaustive else "random", total)
    return EquivResult(True, exhaustive, total)
