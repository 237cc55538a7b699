"""How the core is built around its nodes: registers, popcount shape, output stage (DESIGN.md section 4)."""

from __future__ import annotations

from dataclasses import asdict, dataclass

__all__ = ["Pipeline", "STREAMS"]


def _check_count(name, value):
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"'{name}' must be a non-negative integer, not {value!r}")
    if value < 0:
        raise ValueError(f"'{name}' must be a non-negative integer, not {value!r}")


#: Output stages (``stream``): an output FIFO guarded by credits, or a pipeline that stalls.
STREAMS = ("fifo", "stall")


@dataclass(frozen=True)
class Pipeline:
    """Register placement of the core, the shape of its popcount and its output stage.

    None of these change what the core computes; all of them are in the manifest.

    ``gate_every``
        a register after every ``K`` gate layers (after layer ``K-1``, ``2K-1``, ...);
        ``0`` leaves all gate layers combinational.
    ``popcount_every``
        a register after every ``R`` levels of each class's popcount adder tree;
        ``0`` leaves the adder tree combinational.
    ``argmax_registered``
        a register after every level of the argmax (compare/select) tree.
    ``lut_size``
        ``0``: the popcount is a tree of carry-chain adders (best on LUT4 targets: iCE40,
        ECP5, Gowin); ``K`` (3 to 6): the core is shaped for ``K``-input LUTs: the popcount
        is counters whose every output bit is one ``K``-input function
        (:class:`~lgn_hw.hdl.popcount.CounterPopcount`; ``6`` for Xilinx 7, where 10 bits
        take 8-10 LUT6 instead of 12), and the argmax compares with ``K``-input functions
        where that pays (:func:`~lgn_hw.hdl.popcount.lut_compare_fits`: 4-bit scores for
        ``6``, 58 LUT6 instead of 73 for 10 classes). The registers and the latency do not change.
    ``stream``
        ``"fifo"``: a free-running datapath into an output FIFO of ``latency + 1`` entries
        with a credit counter (no backpressure into the datapath, ``in_ready`` a register);
        ``"stall"``: no FIFO, every register advances when ``out_ready | ~out_valid``, so
        ``in_ready`` depends combinationally on ``out_ready`` and the enable reaches every
        register (DESIGN.md section 4). Manifests from before this field read as ``"fifo"``.

    The input register is always there. The default
    (a register after every 4 gate layers and every 2 adder levels) is the
    measured optimum for the issue's goal, fewest LUTs with fmax >= 100 MHz on
    the iCE40 HX8K: ``bench/hw_sweep.py --breakdown --popcount-every 1,2,3`` on a
    trained digits net (4 x 1000 gates, 2700 after optimisation, 10 x 100
    popcount bits) gave 2596 LUTs, 132 MHz, latency 11 for (4, 2), against
    2596-2616 LUTs at 114-135 MHz for gate_every 3-4 (any popcount_every),
    2820 for 2 and 3290-3301 for 1 (131 MHz, latency 17): merging gate layers
    saves LUTs and costs no fmax at this depth, and registers every 2 adder
    levels cost few FFs (every 1: +1200) and keep fmax (every 3: 114-125 MHz).
    On ECP5-25k the same core is 2310 LUT4, 163 MHz.
    """

    gate_every: int = 4
    popcount_every: int = 2
    argmax_registered: bool = True
    lut_size: int = 0
    stream: str = "fifo"

    def __post_init__(self):
        _check_count("gate_every", self.gate_every)
        _check_count("popcount_every", self.popcount_every)
        if not isinstance(self.argmax_registered, bool):
            raise TypeError(f"'argmax_registered' must be a bool, not {self.argmax_registered!r}")
        _check_count("lut_size", self.lut_size)
        if self.lut_size not in (0, 3, 4, 5, 6):
            raise ValueError(f"'lut_size' must be 0 (no LUT shaping) or a LUT size from 3 to 6, "
                             f"not {self.lut_size!r}")
        if not isinstance(self.stream, str) or self.stream not in STREAMS:
            raise ValueError(f"'stream' must be one of {', '.join(map(repr, STREAMS))}, not {self.stream!r}")

    def to_dict(self) -> dict:
        """The fields; ``lut_size`` and ``stream`` only when not the default, so that a
        default core's manifest is the same as before they existed."""
        data = asdict(self)
        for name in ("lut_size", "stream"):
            if data[name] == self.__dataclass_fields__[name].default:
                del data[name]
        return data

    @classmethod
    def from_dict(cls, data) -> "Pipeline":
        if not isinstance(data, dict):
            raise TypeError(f"pipeline must be a dict, not {data!r}")
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"pipeline: unknown field {unknown[0]!r}")
        return cls(**data)

    @classmethod
    def parse(cls, spec: str) -> "Pipeline":
        """Parse ``"gates=2,popcount=1,argmax=1,lut=6,stream=stall"`` (any subset; the rest keep
        their defaults)."""
        if not isinstance(spec, str):
            raise TypeError(f"pipeline spec must be a string, not {spec!r}")
        keys = {"gates": "gate_every", "popcount": "popcount_every", "argmax": "argmax_registered",
                "lut": "lut_size", "stream": "stream"}
        values, seen = {}, set()
        items = [s.strip() for s in spec.split(",")]
        if spec.strip() and not all(items):
            raise ValueError(f"pipeline spec has an empty item: {spec!r} (items are separated by one comma)")
        for item in filter(None, items):
            key, sep, text = item.partition("=")
            key = key.strip()
            if not sep or key not in keys:
                raise ValueError(
                    f"pipeline spec items must be gates=K, popcount=R, argmax=0|1, lut=K or "
                    f"stream=fifo|stall, not {item!r}")
            if key in seen:
                raise ValueError(f"pipeline spec gives {key} twice: {spec!r}")
            seen.add(key)
            if key == "stream":
                values["stream"] = text.strip()
                continue
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
        """The spec :meth:`parse` reads back; ``lut`` and ``stream`` only when not the default."""
        return (f"gates={self.gate_every},popcount={self.popcount_every},"
                f"argmax={int(self.argmax_registered)}"
                + (f",lut={self.lut_size}" if self.lut_size else "")
                + (f",stream={self.stream}" if self.stream != "fifo" else ""))
