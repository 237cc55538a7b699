"""Pick the pipeline for a clock goal: the fewest flip-flops that still reach ``fmax`` on a target.

Registers cost FFs (a 4,000-bit last layer registered is 4,000 FFs) and buy
clock rate; where they pay depends on the device and the design, so
:func:`pick_pipeline` measures instead of guessing. Each candidate is exported,
synthesized and placed and routed (``synthesize``, nextpnr's fmax), and the
search walks from the densest placement toward fewer registers:

1. ``Pipeline(gate_every=1, popcount_every=1, argmax_registered=True)``, a
   register after every gate layer and adder level. If even this misses the
   goal, no placement reaches it: :class:`FmaxNotReached` says the best fmax.
2. One knob at a time, in the order of the FFs it can save (gate layers, then
   adder levels, then the argmax), the knob is loosened step by step
   (``gate_every`` 1, 2, 3, 4, 6, 8, then 0 = no gate registers) while the goal
   still holds; the first miss ends that knob.

The answer is the accepted candidate with the fewest FFs (then LUTs). This is
a greedy walk, not an exhaustive sweep: 10-15 place-and-route runs instead of
about 60, at the risk of missing a placement that only pays off when two knobs
move together. Every run is kept in the result so the choice can be checked.
"""

from __future__ import annotations

import dataclasses
import json
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from ..hdl import Pipeline, export
from .targets import get_target

__all__ = ["FmaxNotReached", "PipelineChoice", "pick_pipeline", "GATE_STEPS", "POPCOUNT_STEPS"]

#: values each knob takes as the search loosens it (0 = no registers for that block)
GATE_STEPS = (1, 2, 3, 4, 6, 8, 0)
POPCOUNT_STEPS = (1, 2, 3, 4, 0)


class FmaxNotReached(ValueError):
    """Even a register after every gate layer and adder level misses the clock goal."""


@dataclass
class PipelineChoice:
    pipeline: Pipeline
    report: dict                                # the chosen candidate's synthesis report
    tried: list = field(default_factory=list)   # (pipeline, luts, ffs, fmax_mhz, met) per run

    def table(self) -> str:
        rows = [f"{'pipeline':<48}{'LUTs':>8}{'FFs':>8}{'fmax MHz':>10}  goal"]
        for pipe, luts, ffs, fmax, met in self.tried:
            mark = "met" if met else "missed"
            if pipe == self.pipeline:
                mark += "  <- chosen"
            rows.append(f"{str(pipe):<48}{luts:>8}{ffs:>8}{_mhz(fmax):>10}  {mark}")
        return "\n".join(rows)

    def to_dict(self) -> dict:
        return {"pipeline": self.pipeline.to_dict(),
                "tried": [{"pipeline": p.to_dict(), "luts": lu, "ffs": ff, "fmax_mhz": fm, "met": met}
                          for p, lu, ff, fm, met in self.tried]}


def _mhz(fmax) -> str:
    return "-" if fmax is None else f"{fmax:.1f}"


def _measure(netlist, target: str, goal: float, encoder: str, seed: int):
    """The default evaluator: export into a scratch folder, synthesize, place and route."""
    from .flow import synthesize

    def evaluate(pipeline: Pipeline) -> dict:
        work = Path(tempfile.mkdtemp(prefix="lgn-fmax-"))
        try:
            export(netlist, work / "hw", pipeline=pipeline, encoder=encoder, quiet=True)
            return synthesize(work / "hw", target, freq_mhz=goal, seed=seed)
        finally:
            shutil.rmtree(work, ignore_errors=True)

    return evaluate


def _placement(netlist):
    """``pipeline -> the registers it places`` in this netlist's core (equal sets: the same core)."""
    from ..hdl.popcount import _popcount_levels

    depth, levels = netlist.depth, _popcount_levels(netlist.outputs_per_class)

    def place(p: Pipeline):
        gates = frozenset(i for i in range(depth) if p.gate_every and (i + 1) % p.gate_every == 0)
        adders = frozenset(l for l in range(1, levels + 1) if p.popcount_every and l % p.popcount_every == 0)
        return gates, adders, p.argmax_registered

    return place


def pick_pipeline(netlist, target: str, fmax_mhz: float, *, encoder: str = "host", seed: int = 0,
                  evaluate=None, progress=None) -> PipelineChoice:
    """The pipeline with the fewest FFs whose core reaches ``fmax_mhz`` on ``target``.

    ``evaluate(pipeline) -> report`` (``luts``, ``ffs``, ``fmax_mhz``) defaults to a
    real export + synthesis + place and route; ``progress(text)`` hears of every run.
    Raises :class:`FmaxNotReached` when the densest pipeline misses the goal and
    ValueError for a target without place and route (no fmax to aim at).
    """
    tgt = get_target(target)
    if not tgt.has_pnr:
        raise ValueError(f"target {tgt.name!r} has no place and route here, so no fmax to aim at")
    if isinstance(fmax_mhz, bool) or not isinstance(fmax_mhz, (int, float)) or not 0 < fmax_mhz < 2000:
        raise ValueError(f"the fmax goal must be a number of MHz in (0, 2000), not {fmax_mhz!r}")
    goal = float(fmax_mhz)
    evaluate = evaluate or _measure(netlist, tgt.name, goal, encoder, seed)
    tried, reports, met_goal = [], {}, {}
    place = _placement(netlist)

    def run(pipe: Pipeline) -> bool:
        if pipe not in reports:
            rep = evaluate(pipe)
            reports[pipe] = rep
            fmax = rep.get("fmax_mhz")
            met_goal[pipe] = met = fmax is not None and fmax >= goal
            tried.append((pipe, rep["luts"], rep["ffs"], fmax, met))
            if progress:
                progress(f"{str(pipe):<48}{rep['luts']:>8} LUTs{rep['ffs']:>8} FFs  "
                         f"{_mhz(fmax):>7} MHz  {'met' if met else 'missed'}")
        return met_goal[pipe]

    best = Pipeline(gate_every=GATE_STEPS[0], popcount_every=POPCOUNT_STEPS[0], argmax_registered=True)
    if not run(best):
        fmax = reports[best].get("fmax_mhz")
        raise FmaxNotReached(f"{tgt.name}: a register after every gate layer and adder level reaches "
                             f"{_mhz(fmax)} MHz, short of the {goal:g} MHz goal")
    for knob, steps in (("gate_every", GATE_STEPS[1:]), ("popcount_every", POPCOUNT_STEPS[1:]),
                        ("argmax_registered", (False,))):
        for value in steps:
            cand = dataclasses.replace(best, **{knob: value})
            if place(cand) == place(best):  # e.g. gate_every 6 and 8 on 4 layers: both no register
                continue
            if not run(cand):
                break
            best = cand
    met = [t for t in tried if t[4]]
    chosen = min(met, key=lambda t: (t[2], t[1]))[0]
    return PipelineChoice(chosen, reports[chosen], tried)


def write_choice(choice: PipelineChoice, path) -> None:
    """The search record as JSON (what ``lgn-hw export --fmax`` leaves beside the export)."""
    from ..netlist.model import atomic_write_text

    atomic_write_text(Path(path), json.dumps(choice.to_dict(), indent=1) + "\n")
