"""Optimisation passes over the gate DAG (:class:`~lgn_hw.netlist.opt.graph.Graph`).

Each pass is a small class: :meth:`Pass.run` rewrites the graph in place and
returns how many gates it changed (rewritten or removed). Every rewritten op is
derived from the truth tables in :mod:`lgn_hw.gates`; none is written by hand.
LUT nodes get the same rewrites through their tables (cofactors for constant
inputs, negated inputs for NOT wires) and are kept canonical
(:func:`~lgn_hw.netlist.opt.graph.canonical_lut`), which drops the inputs a
table ignores and turns a LUT reading two inputs or fewer into a gate.
Output slots always keep producing a bit: a slot may be redirected to an
equivalent node, but never dropped.
"""

from __future__ import annotations

import logging

from ... import gates
from .graph import (FALSE, NONE, NOT_A, TRUE, Graph, Lut, canonical_lut, fix_input, is_constant,
                    lut_key, negate_input, swap_inputs, tie_inputs)

__all__ = ["Pass", "DeadGates", "Normalize", "Constants", "Wires", "Duplicates", "DEFAULT_PASSES"]

log = logging.getLogger(__name__)


class Pass:
    """One rewrite of the graph; ``run`` returns the number of gates it changed."""

    name = "pass"

    def run(self, graph: Graph) -> int:
        raise NotImplementedError

    def __repr__(self):
        return f"{type(self).__name__}()"


class DeadGates(Pass):
    """Remove gates whose value reaches no output slot."""

    name = "dead"

    def run(self, graph: Graph) -> int:
        return graph.sweep()


class Normalize(Pass):
    """Canonical gate form, which the other passes rely on to see more.

    A gate reading the same node twice becomes a one-input op of ``a``; a source
    the op ignores becomes ``NONE``; an op that reads only ``b`` is swapped to
    read it as ``a``. A LUT node becomes canonical (possibly a gate).
    """

    name = "normalize"

    def run(self, graph: Graph) -> int:
        changed = 0
        for g, gate in graph.gates.items():
            if isinstance(gate, Lut):
                node = canonical_lut(gate.table, gate.inputs)
                if node == gate:
                    continue
                graph.gates[g] = gate = node
                changed += 1
                if isinstance(node, Lut):
                    continue
            before = (gate.op, gate.a, gate.b)
            if gate.a == gate.b and gate.a != NONE:
                gate.op = tie_inputs(gate.op)
            if not gates.DEPENDS_ON_A[gate.op] and gates.DEPENDS_ON_B[gate.op]:
                gate.op, gate.a, gate.b = swap_inputs(gate.op), gate.b, gate.a
            if not gates.DEPENDS_ON_A[gate.op]:
                gate.a = NONE
            if not gates.DEPENDS_ON_B[gate.op]:
                gate.b = NONE
            changed += before != (gate.op, gate.a, gate.b)
        return changed


class Constants(Pass):
    """Propagate constants: FALSE/TRUE gates, and gates all of whose read inputs are constant.

    A gate reading a constant is rewritten to the op that ignores that input
    (its truth table with the input tied), a LUT node to the cofactor of its
    table; gates left unread are removed.
    Output slots that become constant stay as FALSE/TRUE gates.
    """

    name = "constants"

    def run(self, graph: Graph) -> int:
        value: dict[int, int] = {}
        rewritten = 0
        for g, gate in graph.gates.items():
            if isinstance(gate, Lut):
                if not any(n in value for n in gate.inputs):
                    continue
                table, inputs = gate.table, list(gate.inputs)
                for i in range(len(inputs) - 1, -1, -1):
                    if inputs[i] in value:
                        table = gates.lut_cofactor(table, len(inputs), i, value[inputs[i]])
                        del inputs[i]
                graph.gates[g] = gate = canonical_lut(table, inputs)
                rewritten += 1
                if isinstance(gate, Lut):
                    continue
            before = (gate.op, gate.a, gate.b)
            for which, src in _read_inputs(gate):
                if src in value:
                    gate.op = fix_input(gate.op, which, value[src])
                    setattr(gate, which, NONE)
            if is_constant(gate.op):
                value[g] = int(gate.op == TRUE)
                gate.a = gate.b = NONE
            rewritten += before != (gate.op, gate.a, gate.b)
        removed = graph.sweep()
        return rewritten + removed


class Wires(Pass):
    """Fold pass-through and NOT gates into their consumers.

    A consumer of ``A(x)`` reads ``x``; a consumer of ``NOT A(x)`` reads ``x`` with
    its op (or LUT table) rewritten to invert that input. An output slot carrying a pass-through
    gate carries its source instead; a NOT gate in an output slot stays (no
    consumer can absorb it).
    """

    name = "wires"

    def run(self, graph: Graph) -> int:
        alias: dict[int, tuple[int, bool]] = {}
        rewritten = 0
        for g, gate in graph.gates.items():
            if isinstance(gate, Lut):
                if not any(n in alias for n in gate.inputs):
                    continue
                table, inputs = gate.table, list(gate.inputs)
                for i, n in enumerate(inputs):
                    if n in alias:
                        inputs[i], inverted = alias[n]
                        if inverted:
                            table = gates.lut_negate_input(table, len(inputs), i)
                graph.gates[g] = gate = canonical_lut(table, inputs)
                rewritten += 1
                if isinstance(gate, Lut):
                    continue
            before = (gate.op, gate.a, gate.b)
            for which, src in _read_inputs(gate):
                if src in alias:
                    node, inverted = alias[src]
                    setattr(gate, which, node)
                    if inverted:
                        gate.op = negate_input(gate.op, which)
            rewritten += before != (gate.op, gate.a, gate.b)
            one = _single_input(gate)
            if one is not None:
                src, op = one
                if op == gates.PASS_A:
                    alias[g] = (src, False)
                elif op == NOT_A:
                    alias[g] = (src, True)
        for j, o in enumerate(graph.outputs):
            if o in alias and not alias[o][1]:
                graph.outputs[j] = alias[o][0]
                rewritten += 1
        removed = graph.sweep()
        return rewritten + removed


def _read_inputs(gate):
    """``(which, source)`` for each of ``"a"``, ``"b"`` that the gate's op reads, checked
    lazily: a rewrite of the op while handling ``a`` decides whether ``b`` is still read."""
    for which, depends in (("a", gates.DEPENDS_ON_A), ("b", gates.DEPENDS_ON_B)):
        if depends[gate.op]:
            yield which, getattr(gate, which)


def _single_input(gate):
    """``(source, op as a one-input op of a)`` if the gate reads exactly one node, else None."""
    da, db = gates.DEPENDS_ON_A[gate.op], gates.DEPENDS_ON_B[gate.op]
    if da and not db:
        return gate.a, gate.op
    if db and not da:
        return gate.b, swap_inputs(gate.op)
    if da and db and gate.a == gate.b:
        return gate.a, tie_inputs(gate.op)
    return None


class Duplicates(Pass):
    """Merge gates computing the same op of the same inputs.

    Inputs match in either order: ``op(x, y)`` equals ``swap(op)(y, x)``, which
    for the symmetric ops (:data:`lgn_hw.gates.SYMMETRIC`) is the same op. LUT
    nodes match when their canonical tables and inputs are equal.
    """

    name = "duplicates"

    def run(self, graph: Graph) -> int:
        seen: dict[tuple, int] = {}
        replace: dict[int, int] = {}
        rewritten = 0
        for g, gate in graph.gates.items():
            if isinstance(gate, Lut):
                if any(n in replace for n in gate.inputs):
                    graph.gates[g] = gate = canonical_lut(
                        gate.table, [replace.get(n, n) for n in gate.inputs])
                    rewritten += 1
                if isinstance(gate, Lut):
                    key = ("lut",) + lut_key(gate)
                    if key in seen:
                        replace[g] = seen[key]
                    else:
                        seen[key] = g
                    continue
            before = (gate.a, gate.b)
            if gate.a in replace:
                gate.a = replace[gate.a]
            if gate.b in replace:
                gate.b = replace[gate.b]
            rewritten += before != (gate.a, gate.b)
            key = _key(gate)
            if key in seen:
                replace[g] = seen[key]
            else:
                seen[key] = g
        for j, o in enumerate(graph.outputs):
            if o in replace:
                graph.outputs[j] = replace[o]
                rewritten += 1
        removed = graph.sweep()
        return rewritten + removed


def _key(gate):
    a = gate.a if gates.DEPENDS_ON_A[gate.op] else NONE
    b = gate.b if gates.DEPENDS_ON_B[gate.op] else NONE
    op = gate.op
    if a > b:
        op, a, b = swap_inputs(op), b, a
    return op, a, b


#: The default flow, in order; it is repeated until nothing changes.
DEFAULT_PASSES = (DeadGates, Normalize, Constants, Wires, Duplicates)
