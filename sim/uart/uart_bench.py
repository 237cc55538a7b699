"""cocotb tests of the UART board wrapper (``lgn_hw.synth.uart.LgnUart``) at the serial level.

Bytes go in on ``rx`` at the UART bit rate, answers come out on ``tx``, and every
answer is compared with the golden model (``lgn_hw.netlist.evaluate``). Run by
``lgn_hw.synth.simulate_uart``, which writes the JSON configuration named by
``LGN_UART_CONFIG``. The parts: :class:`UartConfig`, :class:`Model` (expected
answers), :class:`UartDriver` (host to board), :class:`UartMonitor` (board to
host) and :class:`Checker` (in-order comparison).
"""

from __future__ import annotations

import json
import logging
import os
import random
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import cocotb
import numpy as np
from cocotb.clock import Clock
from cocotb.triggers import ClockCycles, FallingEdge, RisingEdge

from lgn_hw.synth.host import frame as host_frame
from lgn_hw.synth.uart import CMD_CLASS, CMD_SCORES, score_bytes

CONFIG_ENV = "LGN_UART_CONFIG"
CLOCK_NS = 10


class UartFailure(AssertionError):
    """The wrapper answered wrongly or not at all; the message says how."""


@dataclass
class UartConfig:
    netlist: str
    inputs: str
    divisor: int
    timeout: int
    seed: int = 0
    encoder: str = "host"   # what in_data carries (lgn_hw.hdl.encoder.CoreInputs)

    @classmethod
    def load(cls) -> "UartConfig":
        path = os.environ.get(CONFIG_ENV)
        if not path:
            raise UartFailure(f"no bench configuration: set {CONFIG_ENV} to a JSON file")
        path = Path(path)
        cfg = cls(**json.loads(path.read_text()))
        for name in ("netlist", "inputs"):
            if not Path(getattr(cfg, name)).is_absolute():
                setattr(cfg, name, str(path.parent / getattr(cfg, name)))
        return cfg


class Model:
    """Frames to send and the answers the golden model expects."""

    def __init__(self, cfg: UartConfig):
        from lgn_hw.hdl.encoder import CoreInputs
        from lgn_hw.netlist import evaluate, load

        self.net = load(cfg.netlist)
        self.bits = np.load(cfg.inputs).astype(np.uint8)   # in_data bits, sent as the frame payload
        result = evaluate(self.net, CoreInputs(self.net, cfg.encoder).netlist_bits(self.bits))
        self.classes, self.scores = result.classes, result.scores
        self.score_bytes = score_bytes(self.net)

    def frame(self, i: int, scores: bool) -> bytes:
        return host_frame(self.bits[i], scores=scores)

    def answer(self, i: int, scores: bool) -> bytes:
        out = bytes([int(self.classes[i])])
        if scores:
            out += b"".join(int(s).to_bytes(self.score_bytes, "little") for s in self.scores[i])
        return out


class UartDriver:
    """Sends bytes on ``rx``, 8N1, ``divisor`` clocks per bit, with random idle time between bytes."""

    def __init__(self, dut, divisor: int, rng: random.Random):
        self.dut, self.divisor, self.rng = dut, divisor, rng
        self.log = logging.getLogger("cocotb.uart.driver")

    async def send(self, data: bytes, max_gap_bits: int = 2):
        for byte in data:
            for bit in [0] + [(byte >> k) & 1 for k in range(8)] + [1]:
                self.dut.rx.value = bit
                await ClockCycles(self.dut.clk, self.divisor)
            gap = self.rng.randint(0, max_gap_bits * self.divisor)
            if gap:
                await ClockCycles(self.dut.clk, gap)


class UartMonitor:
    """Collects the bytes the board sends on ``tx``; checks each start and stop bit."""

    def __init__(self, dut, divisor: int):
        self.dut, self.divisor = dut, divisor
        self.received: deque[int] = deque()
        self.errors: list[str] = []
        cocotb.start_soon(self._run())

    async def _run(self):
        d = self.divisor
        while True:
            await FallingEdge(self.dut.tx)
            await ClockCycles(self.dut.clk, d // 2)
            if int(self.dut.tx.value) != 0:
                self.errors.append("glitch on tx: start bit not low at mid-bit")
                continue
            byte = 0
            for k in range(8):
                await ClockCycles(self.dut.clk, d)
                byte |= int(self.dut.tx.value) << k
            await ClockCycles(self.dut.clk, d)
            if int(self.dut.tx.value) != 1:
                self.errors.append(f"byte 0x{byte:02x}: stop bit is low")
            self.received.append(byte)

    async def read(self, n: int, max_cycles: int) -> bytes:
        out = bytearray()
        for _ in range(max_cycles):
            while self.received and len(out) < n:
                out.append(self.received.popleft())
            if len(out) == n:
                return bytes(out)
            await RisingEdge(self.dut.clk)
        raise UartFailure(f"expected {n} bytes, got {len(out)} ({out.hex()}) within {max_cycles} cycles")


class Checker:
    """Compares answers in order; a mismatch names the sample, its bits and both answers."""

    def __init__(self, model: Model, name: str):
        self.model, self.checked = model, 0
        self.log = logging.getLogger(f"cocotb.uart.{name}")

    def check(self, i: int, scores: bool, got: bytes):
        want = self.model.answer(i, scores)
        if got != want:
            bits = "".join(map(str, self.model.bits[i].tolist()))
            raise UartFailure(f"sample {i} ({'scores' if scores else 'class'}): expected "
                              f"{want.hex()} got {got.hex()}; input bits {bits}")
        self.checked += 1


async def _setup(dut, name):
    cfg = UartConfig.load()
    Clock(dut.clk, CLOCK_NS, unit="ns").start()
    dut.rx.value = 1
    dut.rst.value = 1
    await ClockCycles(dut.clk, 4)
    dut.rst.value = 0
    await ClockCycles(dut.clk, 4)
    model = Model(cfg)
    rng = random.Random(f"{cfg.seed}-{name}")
    return (cfg, model, UartDriver(dut, cfg.divisor, rng), UartMonitor(dut, cfg.divisor),
            Checker(model, name), rng)


def _byte_cycles(cfg, n):
    return (n + 4) * 10 * cfg.divisor * 3 + 200


@cocotb.test()
async def classes_streamed(dut):
    """Class frames back to back without waiting: one class byte per frame, in order."""
    cfg, model, driver, monitor, checker, _ = await _setup(dut, "classes_streamed")
    n = len(model.bits)

    async def send_all():
        for i in range(n):
            await driver.send(model.frame(i, False))

    cocotb.start_soon(send_all())
    got = await monitor.read(n, _byte_cycles(cfg, n * (len(model.frame(0, False)) + 1)))
    for i in range(n):
        checker.check(i, False, got[i:i + 1])
    await ClockCycles(dut.clk, 30 * cfg.divisor)
    if monitor.received or monitor.errors:
        raise UartFailure(f"extra bytes {bytes(monitor.received).hex()} or errors {monitor.errors}")


@cocotb.test()
async def scores_on_request(dut):
    """Score frames, each answered with the class and every score; mixed with class frames."""
    cfg, model, driver, monitor, checker, rng = await _setup(dut, "scores_on_request")
    for i in range(min(len(model.bits), 12)):
        scores = rng.random() < 0.7
        frame = model.frame(i, scores)
        await driver.send(frame)
        want = len(model.answer(i, scores))
        checker.check(i, scores, await monitor.read(want, _byte_cycles(cfg, want)))
    if monitor.errors:
        raise UartFailure(f"framing errors on tx: {monitor.errors}")


@cocotb.test()
async def resync_after_garbage(dut):
    """Stray bytes are ignored and a half-sent frame is dropped after the timeout."""
    cfg, model, driver, monitor, checker, rng = await _setup(dut, "resync_after_garbage")
    junk = bytes(b for b in rng.randbytes(8) if b not in (CMD_CLASS, CMD_SCORES))
    await driver.send(junk)
    partial = model.frame(0, False)
    await driver.send(partial[: max(1, len(partial) // 2)])
    await ClockCycles(dut.clk, cfg.timeout + 20 * cfg.divisor)
    if monitor.received:
        raise UartFailure(f"answer {bytes(monitor.received).hex()} to junk or a partial frame")
    for i in range(min(len(model.bits), 3)):
        await driver.send(model.frame(i, False))
        checker.check(i, False, await monitor.read(1, _byte_cycles(cfg, 1)))
