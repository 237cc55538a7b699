"""Typed parts of the lgn-hw core testbench (they run inside the simulator).

The core's ports and handshake are fixed by DESIGN.md section 3. The parts:

* :class:`BenchConfig` - what to check, read from the JSON file named by ``LGN_BENCH_CONFIG``;
* :class:`Model`       - the golden model (``lgn_hw.netlist.evaluate``) on the sample set;
* :class:`StreamDriver` - drives ``in_valid``/``in_data`` with random gaps, reports accepts;
* :class:`Backpressure` - drives ``out_ready`` with random stalls;
* :class:`ResultMonitor` - captures ``out_class``/``out_scores`` on every out transfer;
* :class:`Scoreboard`  - compares results in order against the model;
* :class:`Bench`       - wires them together and runs the clocked loop.

Timing: every cycle the parts drive after the falling edge and sample in the
``ReadOnly`` phase that follows. The sampled values are exactly those seen at the
next rising edge (the core is synchronous and nothing is driven in between), so a
transfer is recorded independently of how a simulator orders its edge callbacks.
One loop calls the parts in a fixed order, which keeps the bench deterministic.
"""

from __future__ import annotations

import json
import logging
import math
import os
import random
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lgn_hw.verify.run import BENCH_CONFIG_ENV as CONFIG_ENV

__all__ = ["BenchConfig", "Expected", "Model", "StreamDriver", "Backpressure",
           "ResultMonitor", "Scoreboard", "Bench", "BenchFailure"]

LOG = "cocotb.lgn"


class BenchFailure(AssertionError):
    """The core broke its contract; the message says how."""


@dataclass
class BenchConfig:
    """What a run checks. Paths are absolute or relative to the config file."""

    netlist: str
    inputs: str                     # .npy of (n, in_data width) 0/1 bits (lgn_hw.verify draws them)
    encoder: str = "host"           # what in_data carries: the netlist's bits, or raw features ("hw")
    seed: int = 0                   # of the handshake patterns
    gap_prob: float = 0.3           # chance that in_valid stays low on a cycle
    stall_prob: float = 0.3         # chance that out_ready is low on a cycle
    latency: int | None = None      # the manifest's latency, checked at full throughput
    summary: str | None = None      # JSON summary written here (one entry per test)
    stall_timeout: int | None = None  # cycles without any transfer before the bench gives up
                                      # (None: long enough for a false alarm to be < 1e-9)
    reset_cycles: int = 4
    max_reports: int = 10           # mismatches logged in full

    @classmethod
    def load(cls, path=None) -> "BenchConfig":
        path = path or os.environ.get(CONFIG_ENV)
        if not path:
            raise BenchFailure(f"no bench configuration: set {CONFIG_ENV} to a JSON file")
        path = Path(path)
        data = json.loads(path.read_text())
        unknown = sorted(set(data) - set(cls.__dataclass_fields__))
        if unknown:
            raise BenchFailure(f"{path}: unknown bench setting {unknown[0]!r}")
        try:
            cfg = cls(**data)
        except TypeError as exc:  # a required setting is missing
            raise BenchFailure(f"{path}: {exc}") from None
        for name in ("netlist", "inputs", "summary"):
            value = getattr(cfg, name)
            if value is not None and not Path(value).is_absolute():
                setattr(cfg, name, str(path.parent / value))
        for name in ("gap_prob", "stall_prob"):
            p = getattr(cfg, name)
            if not 0.0 <= p < 1.0:
                raise BenchFailure(f"{name} must be in [0, 1), got {p!r}")
        return cfg


@dataclass(frozen=True)
class Expected:
    cls: int
    scores: tuple


class Model:
    """The golden model on the whole sample set, computed up front (bit-parallel)."""

    def __init__(self, netlist, bits: np.ndarray, encoder: str = "host"):
        from lgn_hw.hdl.encoder import CoreInputs
        from lgn_hw.netlist import evaluate

        self.netlist = netlist
        self.inputs = CoreInputs(netlist, encoder)  # in_data bits -> the netlist's input bits
        self.bits = np.asarray(bits, dtype=np.uint8)
        result = evaluate(self.netlist, self.inputs.netlist_bits(self.bits))
        self.expected = [Expected(int(c), tuple(int(s) for s in row))
                         for c, row in zip(result.classes, result.scores)]
        weights = 1 << np.arange(self.inputs.width, dtype=object)
        self.words = [int(np.dot(row.astype(object), weights)) for row in self.bits]

    def __len__(self):
        return len(self.expected)

    def hex(self, index: int) -> str:
        digits = max(1, (self.inputs.width + 3) // 4)
        return f"0x{self.words[index]:0{digits}x}"


def _bit(handle) -> int | None:
    """A 1-bit signal as 0/1, or None when it is X/Z."""
    text = str(handle.value)
    return 1 if text == "1" else 0 if text == "0" else None


def _uint(handle) -> int | None:
    """A vector (or 1-bit) signal as an unsigned integer, or None when any bit is X/Z."""
    value = handle.value
    if not value.is_resolvable:
        return None
    return value.to_unsigned() if hasattr(value, "to_unsigned") else int(value)


class StreamDriver:
    """Drives samples on ``in_valid``/``in_data`` with random gaps (AXI4-Stream source).

    A presented sample stays on the bus until it is accepted; ``on_accept(index)``
    is called for every sample the core accepts, in order.
    """

    def __init__(self, dut, words, rng: random.Random, gap_prob: float, on_accept):
        self.valid, self.data, self.ready = dut.in_valid, dut.in_data, dut.in_ready
        self.words, self.rng, self.gap_prob = words, rng, gap_prob
        self.on_accept = on_accept
        self.next = 0            # next sample to present
        self.presenting = False
        self.log = logging.getLogger(f"{LOG}.driver")

    @property
    def done(self) -> bool:
        return self.next >= len(self.words) and not self.presenting

    def idle(self):
        self.valid.value = 0
        self.presenting = False

    def drive(self):
        if self.presenting:
            return                       # hold until accepted
        if self.next < len(self.words) and self.rng.random() >= self.gap_prob:
            self.data.value = self.words[self.next]
            self.valid.value = 1
            self.presenting = True
        else:
            self.valid.value = 0

    def sample(self, cycle: int) -> bool:
        """After settling: does a transfer happen at the coming edge? Returns True if so."""
        ready = _bit(self.ready)
        if ready is None:
            raise BenchFailure(f"cycle {cycle}: in_ready is {self.ready.value} (X/Z) after reset")
        if self.presenting and ready:
            index = self.next
            self.next += 1
            self.presenting = False
            self.on_accept(index, cycle)
            return True
        return False


class Backpressure:
    """Drives ``out_ready`` low with probability ``stall_prob`` each cycle."""

    def __init__(self, dut, rng: random.Random, stall_prob: float):
        self.ready, self.rng, self.stall_prob = dut.out_ready, rng, stall_prob
        self.log = logging.getLogger(f"{LOG}.backpressure")

    def drive(self, force=None):
        value = force if force is not None else int(self.rng.random() >= self.stall_prob)
        self.ready.value = value
        return value


class ResultMonitor:
    """Captures ``(out_class, scores)`` on each out transfer and passes it to ``on_result``."""

    def __init__(self, dut, num_classes: int, score_width: int, on_result, on_spurious):
        self.valid, self.ready = dut.out_valid, dut.out_ready
        self.cls, self.scores = dut.out_class, dut.out_scores
        self.num_classes, self.score_width = num_classes, score_width
        self.on_result, self.on_spurious = on_result, on_spurious
        self.log = logging.getLogger(f"{LOG}.monitor")
        self.count = 0

    def sample(self, cycle: int, outstanding: int) -> bool:
        valid = _bit(self.valid)
        if valid is None:
            raise BenchFailure(f"cycle {cycle}: out_valid is {self.valid.value} (X/Z) after reset")
        if valid and outstanding <= 0:
            self.on_spurious(cycle)
            return False
        if not (valid and _bit(self.ready)):
            return False
        cls_v, scores_v = _uint(self.cls), _uint(self.scores)
        if cls_v is None or scores_v is None:
            actual = (str(self.cls.value), str(self.scores.value))
        else:
            word, mask = scores_v, (1 << self.score_width) - 1
            actual = Expected(cls_v, tuple(
                (word >> (c * self.score_width)) & mask for c in range(self.num_classes)))
        self.count += 1
        self.on_result(actual, cycle)
        return True


class Scoreboard:
    """In-order checker: every accepted sample expects exactly one matching result."""

    def __init__(self, model: Model, max_reports: int = 10):
        self.model = model
        self.pending: deque = deque()        # (index, accept cycle)
        self.mismatches = 0
        self.errors: list[str] = []          # contract breaks other than wrong values
        self.messages: list[str] = []        # first mismatches, in full
        self.checked = 0
        self.latencies: list[int] = []
        self.max_reports = max_reports
        self.log = logging.getLogger(f"{LOG}.scoreboard")

    def expect(self, index: int, cycle: int):
        self.pending.append((index, cycle))

    def spurious(self, cycle: int):
        self.error(f"cycle {cycle}: out_valid is high but no sample is in flight "
                   f"({self.checked} results for {self.checked + len(self.pending)} accepted samples)")

    def error(self, msg: str):
        if len(self.errors) < self.max_reports:
            self.log.error("%s", msg)
        self.errors.append(msg)

    def check(self, actual, cycle: int):
        if not self.pending:
            self.error(f"cycle {cycle}: extra result {_show(actual)} with no sample outstanding")
            return
        index, accepted = self.pending.popleft()
        self.checked += 1
        self.latencies.append(cycle - accepted)
        want = self.model.expected[index]
        if actual != want:
            self.mismatches += 1
            msg = (f"sample {index}: inputs {self.model.hex(index)}: expected {_show(want)}, "
                   f"got {_show(actual)}")
            if len(self.messages) < self.max_reports:
                self.log.error("mismatch: %s", msg)
                self.messages.append(msg)

    @property
    def first_failure(self) -> str | None:
        if self.messages:
            return self.messages[0]
        return self.errors[0] if self.errors else None


def _show(value) -> str:
    if isinstance(value, Expected):
        return f"class {value.cls} scores {list(value.scores)}"
    return f"unresolved class {value[0]} scores {value[1]}"


@dataclass
class RunStats:
    test: str
    samples: int
    results: int = 0
    cycles: int = 0               # from the first result to the last, inclusive
    total_cycles: int = 0         # every clocked cycle after reset
    mismatches: int = 0
    errors: list = field(default_factory=list)
    first_failure: str | None = None
    latency_min: int | None = None
    latency_max: int | None = None

    @property
    def throughput(self) -> float:
        return self.results / self.cycles if self.cycles else 0.0

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        d["errors"] = self.errors[:20]
        d["error_count"] = len(self.errors)
        d["throughput"] = self.throughput
        return d


class Bench:
    """Wires the parts to ``dut`` and runs one stream of samples through the core."""

    def __init__(self, dut, config: BenchConfig, test: str, *, gap_prob=None, stall_prob=None):
        self.dut, self.cfg, self.test = dut, config, test
        self.log = logging.getLogger(f"{LOG}.bench")
        from lgn_hw.netlist import load

        net = load(config.netlist)
        self.model = Model(net, np.load(config.inputs, allow_pickle=False), config.encoder)
        self._check_ports(net)
        rng = random.Random(f"{config.seed}/{test}")
        self.scoreboard = Scoreboard(self.model, config.max_reports)
        self.driver = StreamDriver(dut, self.model.words, rng,
                                   config.gap_prob if gap_prob is None else gap_prob,
                                   self.scoreboard.expect)
        self.backpressure = Backpressure(dut, rng, config.stall_prob if stall_prob is None else stall_prob)
        self.monitor = ResultMonitor(dut, net.num_classes, net.score_width,
                                     self.scoreboard.check, self.scoreboard.spurious)
        self.stats = RunStats(test, len(self.model))

    def _check_ports(self, net):
        from lgn_hw.hdl.ports import core_ports

        for port in core_ports(net, in_width=self.model.inputs.width):
            handle = getattr(self.dut, port.name, None)
            got = None if handle is None else len(handle)
            if got != port.width:
                raise BenchFailure(f"port {port.name} is {'missing' if got is None else f'{got} bits wide'} "
                                   f"but the netlist needs {port.width} bits: "
                                   "is this core generated from this netlist?")

    async def reset(self):
        """Hold ``rst`` for ``reset_cycles`` edges; returns at the falling edge where it drops,
        so that the first cycle out of reset is already observed."""
        from cocotb.triggers import FallingEdge

        d = self.dut
        d.rst.value = 1
        d.in_valid.value = 0
        d.out_ready.value = 0
        d.in_data.value = 0
        for _ in range(self.cfg.reset_cycles):
            await FallingEdge(d.clk)
        d.rst.value = 0

    async def run(self, *, check_latency: bool = False) -> RunStats:
        """Stream every sample through, then drain; fails on any contract break."""
        from cocotb.triggers import FallingEdge, ReadOnly

        sb, stats, n = self.scoreboard, self.stats, len(self.model)
        latency = self.cfg.latency
        drain = max(8, 2 * (latency or 0) + 8)
        timeout = self.cfg.stall_timeout or self._stall_timeout()
        cycle = idle = 0
        first = first_out = last = None
        after_done = 0
        while True:
            if cycle:                      # cycle 0 starts where reset() left off
                await FallingEdge(self.dut.clk)
            self.driver.drive()
            self.backpressure.drive(1 if check_latency else None)
            await ReadOnly()
            outstanding_before = len(sb.pending)
            moved = self.driver.sample(cycle)
            if moved and first is None:
                first = cycle
            if check_latency and not moved and first is not None and not self.driver.done:
                sb.error(f"cycle {cycle}: in_ready is low with out_ready held high and no gaps "
                         f"(sample {self.driver.next}): the core does not take one sample per clock")
            if self.monitor.sample(cycle, outstanding_before + int(moved)):
                moved = True
                last = cycle
                first_out = cycle if first_out is None else first_out
            idle = 0 if moved else idle + 1
            cycle += 1
            if self.driver.done and not sb.pending:
                after_done += 1
                if after_done > drain:
                    break
            elif idle > timeout:
                sb.error(f"timeout: no transfer for {idle} cycles; accepted {self.driver.next} of {n} "
                         f"samples, got {sb.checked} results; in_ready={self.dut.in_ready.value} "
                         f"out_valid={self.dut.out_valid.value}")
                break
            if len(sb.errors) > 100:
                break
        await FallingEdge(self.dut.clk)   # leave the ReadOnly phase
        self.dut.in_valid.value = 0
        stats.results = sb.checked
        stats.total_cycles = cycle
        stats.cycles = (last - first_out + 1) if last is not None else 0
        stats.mismatches = sb.mismatches
        if sb.latencies:
            stats.latency_min, stats.latency_max = min(sb.latencies), max(sb.latencies)
        if check_latency and latency is not None and sb.latencies:
            bad = [(i, l) for i, l in enumerate(sb.latencies) if l != latency]
            if bad:
                i, l = bad[0]
                sb.error(f"sample {i}: result came {l} cycles after its sample was accepted, "
                         f"the manifest says latency {latency} ({len(bad)} samples differ)")
        if sb.checked != n and len(sb.errors) <= 100:
            sb.error(f"expected exactly {n} results, got {sb.checked}")
        stats.errors = list(sb.errors)
        stats.first_failure = sb.first_failure
        self.write_summary()
        self.log.info("%s: %d samples, %d results, %d mismatches, %d cycles, %.3f results/cycle",
                      self.test, n, stats.results, stats.mismatches, stats.cycles, stats.throughput)
        if sb.mismatches or sb.errors:
            raise BenchFailure(f"{sb.mismatches} mismatches, {len(sb.errors)} protocol errors; "
                               f"first: {sb.first_failure}")
        return stats

    def _stall_timeout(self) -> int:
        p = max(self.driver.gap_prob, self.backpressure.stall_prob)
        wait = math.ceil(math.log(1e-9) / math.log(p)) if p > 0 else 1
        return 100 + 4 * (self.cfg.latency or 0) + wait

    def write_summary(self):
        if not self.cfg.summary:
            return
        path = Path(self.cfg.summary)
        data = json.loads(path.read_text()) if path.exists() else {}
        data[self.test] = self.stats.as_dict()
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=1))
        os.replace(tmp, path)

