"""OpenMP threads wait passively unless the user chose otherwise.

Measured on 2 cores with one other busy process: a 4 x 4000-gate training step at
batch 32 took 814 ms with torch's default 2 threads and libgomp's default wait
policy, 12.7 ms with OMP_WAIT_POLICY=PASSIVE (bench/train_step.py --busy 1).
libgomp reads the variable when torch loads it, so lgn_hw must set it before
torch is imported.
"""

import os
import subprocess
import sys

import pytest

PROBE = ("import sys, os, lgn_hw; assert 'torch' not in sys.modules; import torch; "
         "print(os.environ.get('OMP_WAIT_POLICY'))")


@pytest.mark.parametrize("given, expected", [(None, "PASSIVE"), ("ACTIVE", "ACTIVE")])
def test_lgn_hw_sets_passive_wait_before_torch_loads(given, expected):
    env = {k: v for k, v in os.environ.items() if k != "OMP_WAIT_POLICY"}
    if given:
        env["OMP_WAIT_POLICY"] = given
    out = subprocess.run([sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.strip() == expected
