"""And-inverter graphs for the decomposed proof: a builder, bit-parallel simulation, AIGER, ABC.

An :class:`Aig` holds nodes in creation order (so always topologically
ordered): node 0 is constant false, an input has no fan-ins, an AND node two
literals. A literal is ``2 * node + negated``. :meth:`Aig.and_` hashes
structurally and folds constants, so equal cones built twice are one node.

:func:`prove_miter` writes a miter (one output that is 1 where two circuits
differ) as binary AIGER and asks ABC (``&cec -m``, SAT sweeping) whether it is
constant 0; on a difference ABC's ``iprove`` names the input values.
"""

from __future__ import annotations

import random
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from ..tools import find_tool

__all__ = ["Aig", "MiterResult", "prove_miter"]

FALSE, TRUE = 0, 1


class Aig:
    """An and-inverter graph; see the module docstring."""

    def __init__(self):
        self.fanins: list = [None]  # node 0: constant false; None for an input
        self.inputs: list[int] = []  # input nodes in creation order
        self._hash: dict = {}

    def __len__(self):
        return len(self.fanins)

    def input(self) -> int:
        node = len(self.fanins)
        self.fanins.append(None)
        self.inputs.append(node)
        return 2 * node

    def and_(self, a: int, b: int) -> int:
        if a > b:
            a, b = b, a
        if a == FALSE or a == b ^ 1:
            return FALSE
        if a == TRUE or a == b:
            return b
        key = (a, b)
        lit = self._hash.get(key)
        if lit is None:
            lit = 2 * len(self.fanins)
            self.fanins.append(key)
            self._hash[key] = lit
        return lit

    def or_(self, a, b):
        return self.and_(a ^ 1, b ^ 1) ^ 1

    def xor(self, a, b):
        return self.or_(self.and_(a, b ^ 1), self.and_(a ^ 1, b))

    def mux(self, s, then, other):
        """``then`` where ``s`` is 1, else ``other``."""
        if then == other:
            return then
        return self.or_(self.and_(s, then), self.and_(s ^ 1, other))

    def any_(self, lits) -> int:
        out = FALSE
        for lit in lits:
            out = self.or_(out, lit)
        return out

    def table(self, table: int, lits) -> int:
        """The function with truth table ``table`` of ``lits`` (DESIGN.md section 1: input 0 most
        significant in the entry index, entry ``j`` at bit ``2**k - 1 - j``), by Shannon expansion."""
        k = len(lits)
        # Canonical form: the function of the distinct input nodes in increasing order (negations,
        # repeated and constant inputs folded in, 0 for all inputs 0), so that one function of the
        # same nodes is one literal whatever the table and input order it came as.
        nodes = sorted({lit >> 1 for lit in lits if lit > TRUE})
        pos = {node: i for i, node in enumerate(nodes)}
        m = len(nodes)
        entries = []
        for j in range(1 << m):
            index = 0
            for lit in lits:
                bit = (lit & 1) if lit <= TRUE else ((j >> (m - 1 - pos[lit >> 1])) & 1) ^ (lit & 1)
                index = (index << 1) | bit
            entries.append((table >> ((1 << k) - 1 - index)) & 1)
        if entries[0]:  # and a function and its complement are one node, negated
            return self._shannon([1 - e for e in entries], [2 * node for node in nodes]) ^ 1
        return self._shannon(entries, [2 * node for node in nodes])

    def _shannon(self, entries, lits):
        if all(e == entries[0] for e in entries):
            return TRUE if entries[0] else FALSE
        half = len(entries) // 2
        low = self._shannon(entries[:half], lits[1:])
        high = self._shannon(entries[half:], lits[1:])
        return self.mux(lits[0], high, low)

    def add(self, a: list, b: list, cin: int = FALSE, width: int | None = None) -> list:
        """``a + b + cin`` (little-endian literal lists) by ripple carry, in ``width`` bits."""
        n = max(len(a), len(b))
        width = n + 1 if width is None else width
        out, carry = [], cin
        for i in range(n):
            x = a[i] if i < len(a) else FALSE
            y = b[i] if i < len(b) else FALSE
            t = self.xor(x, y)
            out.append(self.xor(t, carry))
            carry = self.or_(self.and_(x, y), self.and_(t, carry))
        out.append(carry)
        out += [FALSE] * (width - len(out))
        return out[:width]

    def greater(self, a: list, b: list) -> int:
        """Unsigned ``a > b`` for equal-width little-endian literal lists."""
        gt = FALSE
        for x, y in zip(a, b):
            gt = self.or_(self.and_(x, y ^ 1), self.and_(self.xor(x, y) ^ 1, gt))
        return gt

    # -- copying cones ------------------------------------------------------------------
    def copy_cone(self, src: "Aig", roots, memo: dict, shared: dict | None = None) -> list:
        """Copy the cones of literals ``roots`` of ``src`` into this graph; returns the new literals.

        ``memo`` maps ``src`` nodes to literals here: prefill it to cut the cones
        there (a cut node becomes that literal); every other input of ``src``
        reached becomes a fresh input here, the same one for every copy given the
        same ``shared`` dict.
        """
        shared = {} if shared is None else shared
        fanins = src.fanins
        stack = [lit >> 1 for lit in roots]
        while stack:
            node = stack[-1]
            if node in memo:
                stack.pop()
                continue
            pair = fanins[node]
            if node == 0:
                memo[0] = FALSE
            elif pair is None:
                if node not in shared:
                    shared[node] = self.input()
                memo[node] = shared[node]
            else:
                a, b = pair
                pa, pb = memo.get(a >> 1), memo.get(b >> 1)
                if pa is None or pb is None:
                    if pa is None:
                        stack.append(a >> 1)
                    if pb is None:
                        stack.append(b >> 1)
                    continue
                memo[node] = self.and_(pa ^ (a & 1), pb ^ (b & 1))
            stack.pop()
        return [memo[lit >> 1] ^ (lit & 1) for lit in roots]

    # -- simulation ---------------------------------------------------------------------
    def simulate(self, values: dict, width: int, vals: list | None = None) -> list:
        """Values (``width``-bit Python ints, one bit per pattern) of every node, inputs from ``values``
        (node -> int; a missing input is random). With ``vals`` (an earlier result), only the
        nodes made since are evaluated, and ``vals`` is extended."""
        mask = (1 << width) - 1
        rng = random.Random(len(self.fanins))
        start = 0 if vals is None else len(vals)
        vals = [0] * len(self.fanins) if vals is None else vals + [0] * (len(self.fanins) - len(vals))
        for node in range(start, len(self.fanins)):
            pair = self.fanins[node]
            if pair is None:
                if node:
                    vals[node] = values[node] if node in values else rng.getrandbits(width)
                continue
            a, b = pair
            va = vals[a >> 1] ^ (mask if a & 1 else 0)
            vb = vals[b >> 1] ^ (mask if b & 1 else 0)
            vals[node] = va & vb
        return vals

    @staticmethod
    def value(vals, lit, mask) -> int:
        return vals[lit >> 1] ^ (mask if lit & 1 else 0)

    # -- AIGER --------------------------------------------------------------------------
    def write_aiger(self, path, outputs) -> list[int]:
        """Binary AIGER of the cones of ``outputs``, every input kept (in creation order). Returns
        the input nodes in file order."""
        keep = bytearray(len(self.fanins))
        stack = [lit >> 1 for lit in outputs]
        while stack:
            node = stack.pop()
            if keep[node]:
                continue
            keep[node] = 1
            pair = self.fanins[node]
            if pair is not None:
                stack += [pair[0] >> 1, pair[1] >> 1]
        number = {0: 0}
        for i, node in enumerate(self.inputs):
            number[node] = i + 1
        ands = [n for n in range(1, len(self.fanins)) if keep[n] and self.fanins[n] is not None]
        base = len(self.inputs) + 1
        for i, node in enumerate(ands):
            number[node] = base + i
        ren = lambda lit: 2 * number[lit >> 1] + (lit & 1)  # noqa: E731
        out = bytearray(f"aig {len(self.inputs) + len(ands)} {len(self.inputs)} 0 {len(outputs)} "
                        f"{len(ands)}\n".encode())
        out += "".join(f"{ren(lit)}\n" for lit in outputs).encode()
        for i, node in enumerate(ands):
            lhs = 2 * (base + i)
            a, b = (ren(lit) for lit in self.fanins[node])
            if a < b:
                a, b = b, a
            out += _varint(lhs - a) + _varint(a - b)
        path = Path(path)
        if path.is_symlink() or path.exists():  # never write through a link left in the folder
            path.unlink()
        with open(path, "xb") as fh:
            fh.write(bytes(out))
        return list(self.inputs)


def _varint(n: int) -> bytes:
    out = bytearray()
    while n & ~0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


@dataclass(frozen=True)
class MiterResult:
    """``equal``: True (proved), False (refuted: ``inputs`` holds the values of the miter's inputs,
    in creation order), None (ABC gave no answer: ``detail`` says why)."""

    equal: bool | None
    seconds: float
    ands: int
    inputs: tuple | None = None
    detail: str = ""


def prove_miter(aig: Aig, miter: int, path, *, timeout: int = 600) -> MiterResult:
    """Prove with ABC that literal ``miter`` of ``aig`` is constant 0 (see the module docstring).

    The AIGER file is written to ``path``; ABC runs in its folder.
    """
    start = time.perf_counter()
    path = Path(path)
    if miter == FALSE:
        return MiterResult(True, time.perf_counter() - start, 0)
    inputs = aig.write_aiger(path, [miter])
    ands = int(path.read_bytes().split(b"\n", 1)[0].split()[5])
    abc = find_tool("abc")
    try:
        proc = subprocess.run([abc, "-c", f"&r {path.name}; &cec -m"], cwd=path.parent,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        return MiterResult(None, time.perf_counter() - start, ands, detail=f"ABC timed out after {timeout} s")
    text = proc.stdout + proc.stderr
    if "Networks are equivalent" in text:
        return MiterResult(True, time.perf_counter() - start, ands)
    if "NOT EQUIVALENT" not in text:
        lines = [ln for ln in text.splitlines() if ln.strip()]
        return MiterResult(None, time.perf_counter() - start, ands,
                           detail="ABC failed: " + (lines[-1] if lines else f"exit status {proc.returncode}"))
    cex = path.with_suffix(".cex")
    if cex.exists() or cex.is_symlink():
        cex.unlink()
    subprocess.run([abc, "-c", f"&r {path.name}; &put; iprove; write_cex {cex.name}"], cwd=path.parent,
                   capture_output=True, text=True, timeout=timeout)
    values = None
    if cex.is_file():
        bits = "".join(ch for ch in cex.read_text().split("#")[0] if ch in "01")
        if len(bits) >= len(inputs):
            values = tuple(int(ch) for ch in bits[:len(inputs)])
    return MiterResult(False, time.perf_counter() - start, ands, inputs=values,
                       detail="" if values else "ABC found a difference but wrote no input vector")
