"""Where the core puts its pipeline registers (DESIGN.md section 3)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["Pipeline"]


def _check_count(name, value):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"'{name}' must be a non-negative integer, not {value!r}")
    if value < 0:
        raise ValueError(f"'{name}' must be a non-negative integer, not {value!r}")


@dataclass(frozen=True)
class Pipeline:
    """Register placement of the core.

    ``gate_every``
        a register after every ``K`` gate layers (after layer ``K-1``, ``2K-1``, ...);
        ``0`` leaves all gate layers combinational.
    ``popcount_every``
        a register after every ``R`` levels of each class's popcount adder tree;
        ``0`` leaves the adder tree combinational.
    ``argmax_registered``
        a register after every level of the argmax (compare/select) tree.

    The input register and the output FIFO are always there. The default
    (a register after every gate layer and every adder level) aims at fmax:
    no path is longer than one gate LUT or one small adder.
    """

    gate_every: int = 1
    popcount_every: int = 1
    argmax_registered: bool = True

    def __post_init__(self):
        _check_count("gate_every", self.gate_every)
        _check_count("popcount_every", self.popcount_every)
        if not isinstance(self.argmax_registered, bool):
            raise TypeError(f"'argmax_registered' must be a bool, not {self.argmax_registered!r}")

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data) -> "Pipeline":
        if not isinstance(data, dict):
            raise TypeError(f"pipeline must be a dict, not {data!r}")
        unknown = sorted(set(data) - {"gate_every", "popcount_every", "argmax_registered"})
        if unknown:
            raise ValueError(f"pipeline: unknown field {unknown[0]!r}")
        return cls(**data)

    @classmethod
    def parse(cls, spec: str) -> "Pipeline":
        """Parse ``"gates=2,popcount=1,argmax=1"`` (any subset; the rest keep their defaults)."""
        if not isinstance(spec, str):
            raise TypeError(f"pipeline spec must be a string, not {spec!r}")
        keys = {"gates": "gate_every", "popcount": "popcount_every", "argmax": "argmax_registered"}
        values = {}
        for item in filter(None, (s.strip() for s in spec.split(","))):
            key, sep, text = item.partition("=")
            key = key.strip()
            if not sep or key not in keys:
                raise ValueError(
                    f"pipeline spec items must be gates=K, popcount=R or argmax=0|1, not {item!r}")
            try:
                number = int(text)
            except ValueError:
                raise ValueError(f"pipeline spec: {key} needs an integer, not {text.strip()!r}") from None
            if key == "argmax":
                if number not in (0, 1):
                    raise ValueError(f"pipeline spec: argmax must be 0 or 1, not {number}")
                values[keys[key]] = bool(number)
            else:
                values[keys[key]] = number
        return cls(**values)

    def __str__(self):
        return (f"gates={self.gate_every},popcount={self.popcount_every},"
                f"argmax={int(self.argmax_registered)}")
