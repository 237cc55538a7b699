"""The optimiser's in-memory form: a DAG of gates, built from and lowered back to a layered netlist.

A node is a :class:`Gate` or a k-input :class:`Lut` (from a LUT layer). A LUT
node is kept in canonical form by :func:`canonical_lut`: only the inputs its
table reads, each once (in their first order, so that an untouched node keeps
its wiring); one that reads two inputs or fewer is a gate (a gate is a 2-LUT).
:func:`lut_key` is the same function with its inputs sorted, to find duplicates.

Node ids ``0..num_inputs-1`` are the input bits; every gate gets a larger id,
and ids are topological (a gate's sources always have smaller ids), which every
pass preserves: passes only rewrite ops, redirect sources to earlier nodes and
remove gates. ``outputs`` lists, in order, the node whose value each last-layer
position of the netlist must carry (the popcount groups). A source the gate's op
ignores is :data:`NONE`.

Lowering back to layers (:func:`lower`) places each gate at a level, then
inserts pass-through gates (:data:`lgn_hw.gates.PASS_A`) wherever a connection
skips levels: in a pipelined core these are exactly the delay registers the
skip needs, and in a combinational one they are free wires. The last layer is
exactly ``outputs``, in order. A level holding LUT nodes becomes a LUT layer of
the largest k among them, its gates and smaller LUTs written as k-input tables
(inputs the table ignores read the node's first source).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache, lru_cache

import numpy as np

from ... import gates
from ..model import Layer, LutLayer, Netlist

__all__ = [
    "NONE", "Gate", "Lut", "Graph", "lower", "canonical_lut", "lut_key",
    "FALSE", "TRUE", "NOT_A", "fix_input", "negate_input", "swap_inputs",
    "tie_inputs", "is_constant", "is_wire",
]

#: A source an op ignores.
NONE = -1


# -- ops derived from the one gate table ------------------------------------------------
def _table(fn):
    return gates.op_from_table([fn(a, b) for a in (0, 1) for b in (0, 1)])


FALSE = _table(lambda a, b: 0)
TRUE = _table(lambda a, b: 1)
NOT_A = _table(lambda a, b: 1 - a)
_PASS_B = _table(lambda a, b: b)


@cache  # 16 ops: derive each rewrite once, not per gate
def fix_input(op: int, which: str, value: int) -> int:
    """``op`` with input ``which`` ('a' or 'b') tied to ``value``: an op that ignores that input."""
    if which == "a":
        return _table(lambda a, b: gates.truth(op, value, b))
    return _table(lambda a, b: gates.truth(op, a, value))


@cache  # 16 ops: derive each rewrite once, not per gate
def negate_input(op: int, which: str) -> int:
    """The op computing ``op`` with input ``which`` inverted."""
    if which == "a":
        return _table(lambda a, b: gates.truth(op, 1 - a, b))
    return _table(lambda a, b: gates.truth(op, a, 1 - b))


@cache  # 16 ops: derive each rewrite once, not per gate
def swap_inputs(op: int) -> int:
    """The op with ``swap(op)(b, a) == op(a, b)``; identity on :data:`lgn_hw.gates.SYMMETRIC` ops."""
    return _table(lambda a, b: gates.truth(op, b, a))


@cache  # 16 ops: derive each rewrite once, not per gate
def tie_inputs(op: int) -> int:
    """The op of ``x -> op(x, x)`` as a gate reading ``a`` only."""
    return _table(lambda a, b: gates.truth(op, a, a))


def is_constant(op: int) -> bool:
    return op in (FALSE, TRUE)


def is_wire(op: int) -> bool:
    """Whether the op passes one input through unchanged (``A`` or ``B``)."""
    return op in (gates.PASS_A, _PASS_B)


@dataclass(slots=True)
class Gate:
    op: int
    a: int
    b: int


@dataclass(frozen=True, slots=True)
class Lut:
    """A k-input LUT node: ``gates.lut_truth(table, [value of n for n in inputs])``.

    Immutable (passes replace nodes), so ``reads``, the sources its table reads, is
    computed once.
    """

    table: int
    inputs: tuple
    reads: tuple = field(init=False, compare=False, repr=False)

    def __post_init__(self):
        object.__setattr__(self, "inputs", tuple(self.inputs))
        deps = _depends(self.table, len(self.inputs))
        object.__setattr__(self, "reads", tuple(dict.fromkeys(
            n for n, d in zip(self.inputs, deps) if d)))


@lru_cache(maxsize=1 << 16)
def _depends(table: int, k: int) -> tuple:
    return gates.lut_depends(table, k)


def canonical_lut(table: int, inputs) -> "Gate | Lut":
    """The canonical node computing the LUT ``table`` of ``inputs`` (see the module docstring):
    ignored inputs dropped, repeated ones tied; a gate for two inputs or fewer (a constant
    gate for none, a one-input gate of ``a`` for one)."""
    table, inputs = int(table), list(inputs)
    while True:
        deps = _depends(table, len(inputs))
        keep = list(dict.fromkeys(n for n, d in zip(inputs, deps) if d))
        if keep == inputs:
            break
        rank = {n: m for m, n in enumerate(keep)}
        table = gates.lut_rewire(table, len(inputs), [rank[n] if d else None
                                                      for n, d in zip(inputs, deps)], len(keep))
        inputs = keep  # tying inputs can make the table ignore one: look again
    if len(inputs) == 0:
        return Gate(TRUE if table else FALSE, NONE, NONE)
    if len(inputs) == 1:
        return Gate(gates.lut_extend(table, 1, 2), inputs[0], NONE)
    if len(inputs) == 2:
        return Gate(table, inputs[0], inputs[1])
    return Lut(table, inputs)


def lut_key(node: Lut) -> tuple:
    """``(table, inputs)`` of a canonical LUT node rewired to read its inputs in ascending
    order: equal for two nodes computing the same function of the same nodes."""
    order = sorted(range(len(node.inputs)), key=node.inputs.__getitem__)
    return gates.lut_permute(node.table, len(node.inputs), order), tuple(sorted(node.inputs))


class Graph:
    """A mutable DAG of gates; see the module docstring."""

    def __init__(self, num_inputs: int, gate_map: dict, outputs: list):
        self.num_inputs = int(num_inputs)
        self.gates: dict[int, Gate] = gate_map
        self.outputs: list[int] = list(outputs)

    @classmethod
    def from_netlist(cls, net: Netlist) -> "Graph":
        gate_map, prev_ids, nid = {}, list(range(net.num_inputs)), net.num_inputs
        for layer in net.layers:
            ids = []
            if isinstance(layer, LutLayer):
                for table, row in zip(layer.tables.tolist(), layer.inputs.tolist()):
                    gate_map[nid] = Lut(table, [prev_ids[i] for i in row])
                    ids.append(nid)
                    nid += 1
            else:
                for op, a, b in zip(layer.op.tolist(), layer.a.tolist(), layer.b.tolist()):
                    gate_map[nid] = Gate(op, prev_ids[a], prev_ids[b])
                    ids.append(nid)
                    nid += 1
            prev_ids = ids
        return cls(net.num_inputs, gate_map, prev_ids)

    @property
    def num_gates(self) -> int:
        return len(self.gates)

    def is_input(self, node: int) -> bool:
        return 0 <= node < self.num_inputs

    @staticmethod
    def sources(gate) -> list[int]:
        """The sources ``gate``'s op (or a LUT node's table) actually reads."""
        if type(gate) is Lut:
            return list(gate.reads)
        out = []
        if gates.DEPENDS_ON_A[gate.op] and gate.a != NONE:
            out.append(gate.a)
        if gates.DEPENDS_ON_B[gate.op] and gate.b != NONE and gate.b not in out:
            out.append(gate.b)
        return out

    def live(self) -> set[int]:
        """Gates that reach an output."""
        seen = set()
        stack = [o for o in self.outputs if o in self.gates]
        while stack:
            g = stack.pop()
            if g in seen:
                continue
            seen.add(g)
            stack.extend(s for s in self.sources(self.gates[g]) if s in self.gates)
        return seen

    def sweep(self) -> int:
        """Remove gates that reach no output; return how many."""
        keep = self.live()
        dead = [g for g in self.gates if g not in keep]
        for g in dead:
            del self.gates[g]
        return len(dead)

    def check(self) -> None:
        """Raise ValueError if the graph breaks its invariants (tests and debugging)."""
        for g, gate in self.gates.items():
            if isinstance(gate, Lut):
                if not 1 <= len(gate.inputs) <= gates.MAX_K:
                    raise ValueError(f"LUT node {g}: {len(gate.inputs)} inputs")
                gates.check_table(gate.table, len(gate.inputs))
            elif not 0 <= gate.op < gates.NUM_OPS:
                raise ValueError(f"gate {g}: op {gate.op!r} out of range")
            for s in self.sources(gate):
                if not (self.is_input(s) or (s in self.gates and s < g)):
                    raise ValueError(f"gate {g}: source {s} is not an earlier node")
        for j, o in enumerate(self.outputs):
            if not (self.is_input(o) or o in self.gates):
                raise ValueError(f"output {j}: node {o} does not exist")


# -- lowering ------------------------------------------------------------------------
def _schedule(graph: Graph, order, consumers, alap: bool):
    """Levels per live gate: inputs are 0; every output slot ends at level ``depth``."""
    level = {}
    for g in order:
        level[g] = 1 + max((level.get(s, 0) for s in graph.sources(graph.gates[g])), default=0)
    depth = max([1] + [level.get(o, 0) for o in graph.outputs])
    slots = set(graph.outputs)
    if alap:
        for g in reversed(order):
            uses = [level[c] - 1 for c in consumers.get(g, ())]
            if g in slots:
                uses.append(depth if not uses else depth - 1)
            level[g] = min(uses)
    else:
        for g in order:  # a gate feeding only output slots goes straight to the last level
            if g in slots and not consumers.get(g):
                level[g] = depth
    return level, depth


def _plan(graph: Graph, order, consumers, level, depth):
    """Which taps (node, level) each node needs, and how each output slot is made."""
    need = {}  # node -> highest level whose tap is read

    def use(node, at):
        need[node] = max(need.get(node, -1), at)

    for g in order:
        for s in graph.sources(graph.gates[g]):
            use(s, level[g] - 1)
    slot_kind, placed = [], set()
    for o in graph.outputs:
        if o in graph.gates and level[o] == depth:
            if o not in placed:
                placed.add(o)
                slot_kind.append("self")
            else:
                slot_kind.append("copy")
                for s in graph.sources(graph.gates[o]):
                    use(s, depth - 1)
        else:
            slot_kind.append("pass")
            use(o, depth - 1)
    buffers = sum(max(0, top - (level.get(n, 0))) for n, top in need.items())
    return need, slot_kind, buffers


def _layer_of(rows):
    """A gate layer when every row is a 2-input gate, else a LUT layer of the largest k,
    smaller tables extended with ignored inputs that read the row's first input."""
    k = max(len(ins) for _, ins in rows)
    if k == 2:
        arr = np.array([(ins[0], ins[1], op) for op, ins in rows], dtype=np.int64).reshape(-1, 3)
        return Layer(arr[:, 0], arr[:, 1], arr[:, 2])
    tables = [t if len(ins) == k else gates.lut_extend(t, len(ins), k) for t, ins in rows]
    inputs = [ins + ins[:1] * (k - len(ins)) for _, ins in rows]
    return LutLayer(k, np.array(inputs, dtype=np.int64).reshape(-1, k), tables)


def lower(graph: Graph, template: Netlist, *, metadata=None) -> Netlist:
    """The layered netlist of ``graph`` (num_classes, tau, encoder from ``template``).

    Gates are placed as soon as possible or as late as possible, whichever needs
    fewer pass-through delay gates.
    """
    live = graph.live()
    order = [g for g in graph.gates if g in live]
    consumers = {}
    for g in order:
        for s in graph.sources(graph.gates[g]):
            consumers.setdefault(s, []).append(g)
    best = None
    for alap in (False, True):
        level, depth = _schedule(graph, order, consumers, alap)
        need, kinds, buffers = _plan(graph, order, consumers, level, depth)
        if best is None or buffers < best[0]:
            best = (buffers, level, depth, need, kinds)
    _, level, depth, need, kinds = best

    # Entries per level: ("gate", id) | ("buf", node) | slot entries for the last level.
    per_level = [[] for _ in range(depth + 1)]
    for g in order:
        if level[g] < depth:
            per_level[level[g]].append(("gate", g))
    for node, top in need.items():
        for t in range(level.get(node, 0) + 1, top + 1):
            per_level[t].append(("buf", node))
    pos = {(i, 0): i for i in range(graph.num_inputs)}

    def tap(node, at):
        return pos[(node, at)]

    def gate_entry(gate, at):
        """``(table, [input positions])`` of a node placed at level ``at``."""
        srcs = graph.sources(gate)
        fallback = tap(srcs[0], at - 1) if srcs else 0
        if isinstance(gate, Lut):
            reads = _depends(gate.table, len(gate.inputs))
            return gate.table, [tap(n, at - 1) if d else fallback for n, d in zip(gate.inputs, reads)]
        a = tap(gate.a, at - 1) if gates.DEPENDS_ON_A[gate.op] and gate.a != NONE else fallback
        b = tap(gate.b, at - 1) if gates.DEPENDS_ON_B[gate.op] and gate.b != NONE else fallback
        return gate.op, [a, b]

    def buffer(node, at):
        src = tap(node, at - 1)
        return gates.PASS_A, [src, src]

    layers = []
    for t in range(1, depth + 1):
        rows = []
        if t < depth:
            for kind, node in per_level[t]:
                pos[(node, t)] = len(rows)
                rows.append(gate_entry(graph.gates[node], t) if kind == "gate" else buffer(node, t))
        else:
            for o, kind in zip(graph.outputs, kinds):
                rows.append(buffer(o, t) if kind == "pass" else gate_entry(graph.gates[o], t))
        layers.append(_layer_of(rows))
    meta = dict(template.metadata) if metadata is None else metadata
    return Netlist(graph.num_inputs, tuple(layers), template.num_classes, template.tau,
                   template.encoder, meta)
