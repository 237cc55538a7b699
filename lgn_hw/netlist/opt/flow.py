"""The optimisation flow: passes repeated to a fixpoint, with an honest report."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field

import numpy as np

from ... import gates
from ..model import LutLayer, Netlist
from .graph import FALSE, TRUE, Graph, is_wire, lower
from .passes import DEFAULT_PASSES, Pass

__all__ = ["optimize", "OptimizeReport", "GateCount", "PassStep", "count_gates"]

log = logging.getLogger(__name__)

_WIRE_OPS = [op for op in range(gates.NUM_OPS) if is_wire(op)]


@dataclass(frozen=True)
class GateCount:
    """Gates of a layered netlist by kind.

    ``passthrough`` are gates whose output is one input unchanged (ops A and B,
    or a LUT table equal to one input): delay registers in a pipelined core, plain
    wires in a combinational one. ``constant`` are FALSE/TRUE gates and all-0 or
    all-1 tables. ``logic`` is everything else. LUT nodes count like gates.
    """

    total: int
    logic: int
    passthrough: int
    constant: int
    depth: int


def count_gates(net: Netlist) -> GateCount:
    hist = net.op_histogram()
    passthrough = int(hist[_WIRE_OPS].sum())
    constant = int(hist[FALSE] + hist[TRUE])
    for layer in net.layers:
        if isinstance(layer, LutLayer):
            passthrough += int(layer.is_passthrough().sum())
            constant += int(layer.is_constant().sum())
    return GateCount(net.num_gates, net.num_gates - passthrough - constant, passthrough,
                     constant, net.depth)


@dataclass(frozen=True)
class PassStep:
    """One run of one pass: graph gates before and after, and gates it changed."""

    round: int
    name: str
    before: int
    after: int
    changes: int


@dataclass
class OptimizeReport:
    before: GateCount
    after: GateCount
    steps: list = field(default_factory=list)
    rounds: int = 0

    def per_pass(self) -> list[dict]:
        """Totals per pass name, in first-run order: runs, changes, gates removed."""
        rows: dict[str, dict] = {}
        for s in self.steps:
            r = rows.setdefault(s.name, {"pass": s.name, "runs": 0, "changes": 0, "removed": 0})
            r["runs"] += 1
            r["changes"] += s.changes
            r["removed"] += s.before - s.after
        return list(rows.values())

    def table(self) -> str:
        """A human-readable table (what ``lgn-hw optimize`` prints)."""
        lines = [f"{'pass':<12}{'runs':>6}{'changes':>10}{'removed':>10}"]
        for r in self.per_pass():
            lines.append(f"{r['pass']:<12}{r['runs']:>6}{r['changes']:>10}{r['removed']:>10}")
        lines.append(f"fixpoint after {self.rounds} round(s)")
        b, a = self.before, self.after
        lines.append(f"{'':<14}{'total':>8}{'logic':>8}{'pass':>8}{'const':>8}{'depth':>7}")
        for name, c in (("before", b), ("after", a)):
            lines.append(f"{name:<14}{c.total:>8}{c.logic:>8}{c.passthrough:>8}{c.constant:>8}{c.depth:>7}")
        lines.append(f"logic gates {b.logic} -> {a.logic} ({_pct(b.logic, a.logic)}), "
                     f"total gates {b.total} -> {a.total} ({_pct(b.total, a.total)})")
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"before": asdict(self.before), "after": asdict(self.after), "rounds": self.rounds,
                "passes": self.per_pass(), "steps": [asdict(s) for s in self.steps]}


def _pct(before, after) -> str:
    if before == 0:
        return "n/a"
    return f"{(after - before) / before:+.1%}"


def optimize(netlist: Netlist, passes=None, *, max_rounds: int = 100):
    """Optimise ``netlist``; return ``(optimised netlist, OptimizeReport)``.

    ``passes`` is a sequence of :class:`~lgn_hw.netlist.opt.passes.Pass` instances
    or classes (default :data:`DEFAULT_PASSES`); they run in order, repeatedly,
    until a whole round changes nothing. The result computes the same class
    scores for every input (check with :func:`lgn_hw.netlist.equiv.check_equivalent`),
    has the same inputs, classes and output positions, and records the
    optimisation in ``metadata["optimized"]``.
    """
    if not isinstance(netlist, Netlist):
        raise TypeError(f"optimize() needs a Netlist, not {type(netlist).__name__}")
    if isinstance(max_rounds, bool) or not isinstance(max_rounds, int) or max_rounds < 1:
        raise ValueError(f"'max_rounds' must be a positive integer, not {max_rounds!r}")
    flow = [p() if isinstance(p, type) else p for p in (DEFAULT_PASSES if passes is None else passes)]
    for p in flow:
        if not isinstance(p, Pass):
            raise TypeError(f"passes must be Pass instances or classes, not {p!r}")
    graph = Graph.from_netlist(netlist)
    before = count_gates(netlist)
    report = OptimizeReport(before, before)  # GateCount is frozen; ``after`` is replaced below
    for rnd in range(1, max_rounds + 1):
        changed = 0
        for p in flow:
            before = graph.num_gates
            n = int(p.run(graph))
            report.steps.append(PassStep(rnd, p.name, before, graph.num_gates, n))
            log.info("round %d %-10s gates %d -> %d (%d changed)", rnd, p.name, before,
                     graph.num_gates, n)
            changed += n
        report.rounds = rnd
        if not changed:
            break
    else:
        log.warning("optimisation did not reach a fixpoint in %d rounds", max_rounds)
    meta = dict(netlist.metadata)
    result = lower(graph, netlist, metadata=meta)
    report.after = count_gates(result)
    meta["optimized"] = {
        "source_sha256": netlist.sha256(),
        "passes": [p.name for p in flow],
        "gates_before": report.before.total, "gates_after": report.after.total,
        "logic_before": report.before.logic, "logic_after": report.after.logic,
    }
    result.metadata = meta
    log.info("optimised: %d -> %d gates (%d -> %d logic)", report.before.total, report.after.total,
             report.before.logic, report.after.logic)
    return result, report
