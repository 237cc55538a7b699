"""Requests that cannot fit are refused in one line before anything is allocated (issue 22 item 4)."""

from __future__ import annotations

import re

import pytest

from lgn_hw.cli import main
from lgn_hw.train import memory
from lgn_hw.train.presets import preset_config

GIB = 1 << 30


def _refused(capsys, argv) -> str:
    rc = main(argv)
    err = capsys.readouterr().err
    assert rc == 2 and "Traceback" not in err, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lgn-hw train: error: "), err
    return lines[0]


def test_the_4_x_8000_learned_mnist_request_is_refused_on_a_24_gb_machine(tmp_path, capsys, monkeypatch):
    """The mnist preset keeps LUT-6 learned connections: 8000 x 6 x 8000 logits a layer."""
    monkeypatch.setattr(memory, "device_memory", lambda device: 24 * GIB)
    out = tmp_path / "run"
    line = _refused(capsys, ["train", "--dataset", "mnist", "--layers", "4", "--width", "8000",
                             "--out", str(out)])
    assert re.search(r"needs about [\d.]+ GB \(biggest: learned input choices .*\) of memory, more than the "
                     r"[\d.]+ GB this (machine|GPU) has; .*--force", line), line
    assert not out.exists()


@pytest.mark.parametrize("argv", [
    ["--width", "1000000000000"],
    ["--width", str(10**21)],
    ["--layer-kind", "lut", "--connections", "learned", "--width", "100000"],
])
def test_widths_beyond_any_machine_are_refused_before_the_folder_is_made(tmp_path, capsys, argv):
    out = tmp_path / "run"
    line = _refused(capsys, ["train", "--dataset", "digits", "--no-preset", "--out", str(out), *argv])
    assert "of memory, more than the" in line
    assert not out.exists()


def test_force_runs_it_anyway(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(memory, "device_memory", lambda device: 1000)
    argv = ["train", "--dataset", "monk1", "--no-preset", "--layers", "1", "--width", "20", "--epochs", "1",
            "--kernel", "reference", "--quiet", "--out", str(tmp_path / "run")]
    assert "more than the 1 kB" in _refused(capsys, argv)
    assert main(argv + ["--force"]) == 0


def test_the_estimate_is_printed_for_the_mnist_preset(tmp_path, capsys):
    """Printed before the data is read (the MNIST files need not be here)."""
    main(["train", "--dataset", "mnist", "--data-dir", str(tmp_path / "none"), "--out", str(tmp_path / "run")])
    out = capsys.readouterr().out.splitlines()
    assert out[1].startswith("memory ") and re.search(r"about [\d.]+ MB \(biggest: ", out[1]), out
    est = memory.estimate_memory(preset_config("mnist"), 784)
    assert 50e6 < est.total < 1e9


def test_the_first_line_says_when_the_preset_decides_the_node_kind(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(memory, "device_memory", lambda device: 1000 * GIB)
    main(["train", "--dataset", "mnist", "--layers", "2", "--width", "500", "--data-dir", str(tmp_path / "none"),
          "--out", str(tmp_path / "run")])
    first = capsys.readouterr().out.splitlines()[0]
    assert "NOTE the mnist preset makes these layers LUT-6 nodes with learned connections" in first, first
    assert "--no-preset" in first


def test_no_note_when_the_user_names_the_kind(tmp_path, capsys):
    main(["train", "--dataset", "mnist", "--layers", "2", "--width", "500", "--layer-kind", "gate",
          "--connections", "random", "--data-dir", str(tmp_path / "none"), "--out", str(tmp_path / "run")])
    assert "NOTE" not in capsys.readouterr().out


def test_layers_without_width_against_the_mnist_preset_says_so(tmp_path, capsys):
    """Item 13: '--dataset mnist --layers 4' once said "'width' lists 2 widths" though no width was given."""
    line = _refused(capsys, ["train", "--dataset", "mnist", "--layers", "4", "--out", str(tmp_path / "run")])
    assert "--layers 4 does not fit the mnist preset's widths 1000,200 (one per layer): give --width too" in line


def test_the_refusal_comes_before_torch_is_imported(tmp_path):
    """The 4 x 8000 learned request is refused in well under a second: without importing torch."""
    import subprocess
    import sys

    code = ("import sys\nfrom lgn_hw.cli import main\n"
            f"rc = main(['train', '--dataset', 'mnist', '--layers', '4', '--width', '8000', '--device', 'cpu', "
            f"'--data-dir', {str(tmp_path / 'none')!r}, '--out', {str(tmp_path / 'run')!r}])\n"
            "print('rc', rc, 'torch' in sys.modules)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "rc 2 False" in proc.stdout, proc.stdout + proc.stderr
    assert "more than the" in proc.stderr and not (tmp_path / "run").exists()
