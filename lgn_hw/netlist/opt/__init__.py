"""Netlist optimisation: a gate DAG, passes to a fixpoint, and lowering back to layers.

``optimize(netlist)`` returns the optimised netlist and a report; prove the
result with :func:`lgn_hw.netlist.equiv.check_equivalent`.
"""

from .flow import GateCount, OptimizeReport, PassStep, count_gates, optimize
from .graph import Gate, Graph, Lut, canonical_lut, lower
from .passes import DEFAULT_PASSES, Constants, DeadGates, Duplicates, Normalize, Pass, Wires

__all__ = [
    "optimize", "OptimizeReport", "GateCount", "PassStep", "count_gates",
    "Graph", "Gate", "Lut", "canonical_lut", "lower",
    "Pass", "DeadGates", "Normalize", "Constants", "Wires", "Duplicates", "DEFAULT_PASSES",
]
