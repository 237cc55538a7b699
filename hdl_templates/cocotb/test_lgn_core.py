"""Standalone cocotb tests of an lgn-hw core (written into the export by `lgn-hw export --testbench`).

Needs only cocotb and a simulator, not lgn-hw: the golden vectors (inputs, expected
class and scores from lgn-hw's golden model) are in vectors.json beside this file, and
bench.json says which module to test and how its ports are named. Run it with run.py
(`python run.py --sim icarus|verilator`) or cocotb's Makefile (`make SIM=icarus`).

The tests, on the core (`in_*`/`out_*` ports) or its AXI4-Stream wrapper (`s_axis_*`/`m_axis_*`,
`LGN_INTERFACE=axis`):

* idle_after_reset  - nothing comes out while nothing goes in;
* stream_random     - every vector through random gaps on the input valid and random
                      backpressure on the output ready, results checked in order;
* full_throughput   - no gaps, ready held high: one result per clock, each `latency`
                      cycles after its sample went in.
"""

from __future__ import annotations

import json
import logging
import os
import random
from collections import deque
from pathlib import Path

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly

HERE = Path(__file__).resolve().parent
CLOCK_NS = 10
RESET_CYCLES = 4


class BenchFailure(AssertionError):
    """The core broke its contract; the message says how."""


def _load():
    bench = json.loads((HERE / "bench.json").read_text())
    vectors = json.loads((HERE / bench["vectors"]).read_text())
    iface = os.environ.get("LGN_INTERFACE", "core")
    if iface not in bench["interfaces"]:
        raise BenchFailure(f"LGN_INTERFACE={iface!r}: this export has {sorted(bench['interfaces'])}")
    return bench, bench["interfaces"][iface], vectors


class Ports:
    """The DUT's stream signals under one interface's names, and how a result word unpacks."""

    def __init__(self, dut, spec, vectors):
        names = spec["ports"]
        self.clk, self.rst = getattr(dut, names["clock"]), getattr(dut, names["reset"])
        self.reset_active = spec["reset_active"]
        self.in_valid, self.in_ready = getattr(dut, names["in_valid"]), getattr(dut, names["in_ready"])
        self.in_data = getattr(dut, names["in_data"])
        self.out_valid, self.out_ready = getattr(dut, names["out_valid"]), getattr(dut, names["out_ready"])
        self.in_last = getattr(dut, names["in_last"]) if names.get("in_last") else None
        self.out_last = getattr(dut, names["out_last"]) if names.get("out_last") else None
        self.result = [getattr(dut, n) for n in names["result"]]   # concatenated low part first
        self.fields = spec["result_fields"]                         # [[lsb, width] of class, scores...]
        self.num_classes = vectors["num_classes"]

    def read_result(self):
        """``(class, scores)`` on the result signals now, or None when any bit is X/Z."""
        word, pos = 0, 0
        for handle in self.result:
            value = handle.value
            if not value.is_resolvable:
                return None
            # a 1-bit signal's value is a Logic, a wider one's a LogicArray
            word |= (value.to_unsigned() if hasattr(value, "to_unsigned") else int(value)) << pos
            pos += len(handle)
        cls_lsb, cls_w = self.fields[0]
        cls = (word >> cls_lsb) & ((1 << cls_w) - 1)
        scores = tuple((word >> lsb) & ((1 << w) - 1) for lsb, w in self.fields[1:])
        return cls, scores


def _bit(handle):
    text = str(handle.value)
    return 1 if text == "1" else 0 if text == "0" else None


async def _start(dut):
    bench, spec, vectors = _load()
    ports = Ports(dut, spec, vectors)
    Clock(ports.clk, CLOCK_NS, unit="ns").start()
    ports.rst.value = ports.reset_active
    ports.in_valid.value = 0
    ports.out_ready.value = 0
    ports.in_data.value = 0
    if ports.in_last is not None:
        ports.in_last.value = 0
    for _ in range(RESET_CYCLES):
        await FallingEdge(ports.clk)
    ports.rst.value = 1 - ports.reset_active
    return bench, ports, vectors


async def _stream(ports, vectors, seed: str, gap_prob: float, stall_prob: float, latency=None):
    """Send every vector, check every result in order; with ``latency``, also the exact delay."""
    log = logging.getLogger("cocotb.lgn.bench")
    rng = random.Random(seed)
    inputs = [int(h, 16) for h in vectors["inputs"]]
    expected = list(zip(vectors["classes"], (tuple(s) for s in vectors["scores"])))
    n, packet = len(inputs), vectors.get("packet", 0)
    pending, mismatches = deque(), []
    sent = got = cycle = idle = 0
    presenting = False
    timeout = 200 + 4 * vectors["latency"] + 60
    while got < n:
        if cycle:
            await FallingEdge(ports.clk)
        if not presenting and sent < n and rng.random() >= gap_prob:
            ports.in_data.value = inputs[sent]
            if ports.in_last is not None:
                ports.in_last.value = int(packet > 0 and (sent % packet == packet - 1 or sent == n - 1))
            ports.in_valid.value = 1
            presenting = True
        elif not presenting:
            ports.in_valid.value = 0
        ports.out_ready.value = int(rng.random() >= stall_prob)
        await ReadOnly()
        moved = False
        ready = _bit(ports.in_ready)
        if ready is None:
            raise BenchFailure(f"cycle {cycle}: input ready is X/Z after reset")
        if presenting and ready:
            pending.append((sent, cycle))
            sent += 1
            presenting = False
            moved = True
        valid = _bit(ports.out_valid)
        if valid is None:
            raise BenchFailure(f"cycle {cycle}: output valid is X/Z after reset")
        if valid and not pending:
            raise BenchFailure(f"cycle {cycle}: output valid is high but no sample is in flight")
        if valid and _bit(ports.out_ready):
            index, accepted = pending.popleft()
            actual = ports.read_result()
            want = expected[index]
            if actual != want:
                mismatches.append(f"sample {index} (inputs {vectors['inputs'][index]}): expected class "
                                  f"{want[0]} scores {list(want[1])}, got {actual}")
                log.error("mismatch: %s", mismatches[-1])
            if latency is not None and cycle - accepted != latency:
                raise BenchFailure(f"sample {index}: out {cycle - accepted} cycles after it went in; "
                                   f"the core's latency is {latency}")
            if ports.out_last is not None and packet:
                want_last = int(index % packet == packet - 1 or index == n - 1)
                if _bit(ports.out_last) != want_last:
                    raise BenchFailure(f"sample {index}: tlast is {ports.out_last.value}, expected {want_last}")
            got += 1
            moved = True
        idle = 0 if moved else idle + 1
        if idle > timeout:
            raise BenchFailure(f"no transfer for {idle} cycles: {sent} of {n} samples in, {got} results out")
        cycle += 1
    if mismatches:
        raise BenchFailure(f"{len(mismatches)} of {n} results differ from the golden model; first: {mismatches[0]}")
    return cycle


@cocotb.test()
async def idle_after_reset(dut):
    """No result before any input: the output valid stays low while nothing is sent."""
    bench, ports, vectors = await _start(dut)
    ports.out_ready.value = 1
    for cycle in range(vectors["latency"] + 16):
        if cycle:
            await FallingEdge(ports.clk)
        await ReadOnly()
        if _bit(ports.out_valid) != 0:
            raise BenchFailure(f"cycle {cycle} after reset: output valid is {ports.out_valid.value} "
                               "although no sample was sent")


@cocotb.test()
async def stream_random(dut):
    """Every vector through random input gaps and output backpressure, checked in order."""
    bench, ports, vectors = await _start(dut)
    await _stream(ports, vectors, f"{bench['seed']}/stream_random", 0.3, 0.3)


@cocotb.test()
async def full_throughput(dut):
    """No gaps, ready held high: one result per clock, each exactly `latency` cycles after its sample."""
    bench, ports, vectors = await _start(dut)
    cycles = await _stream(ports, vectors, f"{bench['seed']}/full", 0.0, 0.0, latency=vectors["latency"])
    n = len(vectors["inputs"])
    if cycles > n + vectors["latency"] + 2:
        raise BenchFailure(f"{n} samples took {cycles} cycles at full rate; expected one per clock")
