"""The UART wrapper at the serial level (cocotb on Icarus), the host protocol, and board builds."""

from __future__ import annotations

import re

import numpy as np
import pytest

from lgn_hw.netlist import evaluate, random_netlist
from lgn_hw.synth import (CMD_CLASS, CMD_SCORES, BoardTimeout, answer_bytes, build_board, classify_samples,
                          frame, pack_sample, sample_bytes, score_bytes, simulate_uart)


@pytest.mark.icarus
def test_uart_bench_passes_against_golden_model(tiny_export, tmp_path):
    result = simulate_uart(tiny_export, samples=12, seed=1, build_dir=tmp_path)
    assert result.passed, result.failures


@pytest.mark.icarus
def test_uart_bench_catches_a_wrong_core(tiny_export, tmp_path):
    # The board runs the exported core; a different netlist of the same shape is the "golden" one.
    other = random_netlist(20, [48, 48, 30], 3, seed=99)
    result = simulate_uart(tiny_export, other, samples=12, seed=1, build_dir=tmp_path)
    assert not result.passed
    assert re.match(r"sample \d+ \(class\): expected [0-9a-f]{2} got [0-9a-f]{2}; input bits [01]{20}$",
                    result.failures["classes_streamed"])


def test_pack_sample_bit_order():
    bits = np.zeros(10, dtype=np.uint8)
    bits[0] = bits[9] = bits[3] = 1
    assert pack_sample(bits) == bytes([0b0000_1001, 0b0000_0010])
    assert frame(bits) == bytes([CMD_CLASS, 0x09, 0x02])
    assert frame(bits, scores=True)[0] == CMD_SCORES
    with pytest.raises(ValueError, match=r"^samples must hold only 0 and 1"):
        pack_sample([0, 2, 1])


class FakeBoard:
    """A serial port with the protocol of lgn_hw.synth.uart behind it, answered by the golden model."""

    def __init__(self, net, *, mute=False):
        self.net, self.mute = net, mute
        self.inbox, self.outbox = bytearray(), bytearray()
        self.max_unread_score_answers = 0

    def write(self, data):
        self.inbox += data
        n = sample_bytes(self.net)
        while self.inbox:
            if self.inbox[0] not in (CMD_CLASS, CMD_SCORES):
                del self.inbox[0]
                continue
            if len(self.inbox) < 1 + n:
                break
            cmd, payload = self.inbox[0], bytes(self.inbox[1:1 + n])
            del self.inbox[:1 + n]
            bits = np.unpackbits(np.frombuffer(payload, np.uint8), bitorder="little")[:self.net.num_inputs]
            r = evaluate(self.net, bits[None, :])
            answer = bytes([int(r.classes[0])])
            if cmd == CMD_SCORES:
                sb = score_bytes(self.net)
                answer += b"".join(int(s).to_bytes(sb, "little") for s in r.scores[0])
                pending = len(self.outbox) // answer_bytes(self.net, True) + 1
                self.max_unread_score_answers = max(self.max_unread_score_answers, pending)
            if not self.mute:
                self.outbox += answer
        return len(data)

    def read(self, n):
        out = bytes(self.outbox[:n])
        del self.outbox[:n]
        return out


@pytest.fixture
def wide_net():
    # 300 outputs per class: scores need two bytes each.
    return random_netlist(13, [64, 900], 3, seed=5)


def test_classify_classes_and_scores_with_fake_port(wide_net):
    board = FakeBoard(wide_net)
    rng = np.random.default_rng(0)
    bits = rng.integers(0, 2, (40, 13), dtype=np.uint8)
    want = evaluate(wide_net, bits)
    seen = []
    got = classify_samples(board, bits, wide_net, progress=seen.append)
    np.testing.assert_array_equal(got.classes, want.classes)
    assert got.scores is None and seen == list(range(1, 41)) and got.rate > 0
    assert score_bytes(wide_net) == 2
    got = classify_samples(board, bits, wide_net, scores=True)
    np.testing.assert_array_equal(got.classes, want.classes)
    np.testing.assert_array_equal(got.scores, want.scores)
    assert board.max_unread_score_answers == 1  # waits for each score answer


def test_classify_errors(wide_net):
    board = FakeBoard(wide_net, mute=True)
    bits = np.zeros((2, 13), dtype=np.uint8)
    with pytest.raises(BoardTimeout, match=r"^no answer to sample 0 \(got 0 of 1 bytes\)"):
        classify_samples(board, bits, wide_net, window=1)
    with pytest.raises(ValueError, match=r"^samples must have 13 bits each, not 12"):
        classify_samples(board, bits[:, :12], wide_net)
    with pytest.raises(ValueError, match=r"^scores=True needs the core \(its num_classes and score_width\)$"):
        classify_samples(board, bits, None, scores=True)


@pytest.mark.yosys
@pytest.mark.filterwarnings("error::DeprecationWarning")  # no API that later Amaranth drops
def test_board_build_icestick(tiny_export, tmp_path):
    result = build_board(tiny_export, "icestick", tmp_path / "build")
    assert result.bitstream.is_file() and result.bitstream.stat().st_size > 30000
    assert result.divisor == 104 and result.clock_hz == 12e6
    assert re.search(r"ICESTORM_LC: \d+/ 1280", result.utilization)


@pytest.mark.yosys
@pytest.mark.slow
@pytest.mark.filterwarnings("error::DeprecationWarning")
def test_board_build_ulx3s(tiny_export, tmp_path):
    result = build_board(tiny_export, "ulx3s-85f", tmp_path / "build")
    assert result.bitstream.suffix == ".bit" and result.bitstream.is_file()
    assert result.divisor == 217


def test_board_argument_errors(tiny_export, tmp_path):
    with pytest.raises(ValueError, match=r"^unknown board 'icestik'; expected one of icestick, "):
        build_board(tiny_export, "icestik", tmp_path)
    with pytest.raises(ValueError, match=r"^'baud' must be an integer from 1200 to 3000000, not 50"):
        build_board(tiny_export, "icestick", tmp_path, baud=50)
