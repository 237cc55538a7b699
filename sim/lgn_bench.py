"""cocotb tests for an lgn-hw core (DESIGN.md section 3), checked against the golden model.

Run through ``lgn_hw.verify.verify`` (or ``lgn-hw verify``), which writes the JSON
configuration named by ``LGN_BENCH_CONFIG`` (see :class:`lgn_tb.BenchConfig`).
"""

from __future__ import annotations

import cocotb
from cocotb.clock import Clock
from cocotb.triggers import FallingEdge, ReadOnly

from lgn_tb import Bench, BenchConfig, BenchFailure

CLOCK_NS = 10


async def _start(dut):
    Clock(dut.clk, CLOCK_NS, unit="ns").start()
    return BenchConfig.load()


@cocotb.test()
async def idle_after_reset(dut):
    """No result before any input: out_valid stays low while nothing is sent."""
    cfg = await _start(dut)
    bench = Bench(dut, cfg, "idle_after_reset")
    await bench.reset()
    dut.out_ready.value = 1
    for cycle in range((cfg.latency or 0) + 16):
        if cycle:                          # cycle 0 starts at the falling edge where rst drops
            await FallingEdge(dut.clk)
        await ReadOnly()
        if str(dut.out_valid.value) != "0":
            raise BenchFailure(f"cycle {cycle} after reset: out_valid is {dut.out_valid.value} "
                               "although no sample was sent")


@cocotb.test()
async def stream_random(dut):
    """Every sample through random in_valid gaps and out_ready backpressure, checked in order."""
    cfg = await _start(dut)
    bench = Bench(dut, cfg, "stream_random")
    await bench.reset()
    await bench.run()


@cocotb.test()
async def full_throughput(dut):
    """No gaps, out_ready high: one sample per clock, each result after exactly ``latency`` cycles."""
    cfg = await _start(dut)
    bench = Bench(dut, cfg, "full_throughput", gap_prob=0.0, stall_prob=0.0)
    await bench.reset()
    await bench.run(check_latency=True)
