"""lgn-hw: logic-gate networks from PyTorch training to verified FPGA hardware."""

import os

# OpenMP threads (torch's, and the fused CPU op's) wait passively unless the user
# chose a policy. With libgomp's default, a busy machine is pathological: on 2 cores
# with one other busy process, a 4 x 4000-gate training step took 814 ms instead of
# 12.7 ms (bench/train_step.py --busy 1). libgomp reads this when torch loads it,
# so it is set here, before any lgn_hw module imports torch.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
__all__ = ["__version__", "SEED_MAX", "check_seed"]

#: seeds are 0..SEED_MAX everywhere (training, data splits, testbenches, nextpnr's C ``int``)
SEED_MAX = 2**31 - 1


def check_seed(value, name: str = "seed") -> int:
    """``value`` if it is an integer seed in ``0..SEED_MAX``, else ``ValueError`` naming ``name``."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= SEED_MAX:
        raise ValueError(f"{name!r} must be an integer in 0..{SEED_MAX}, not {value!r:.40}")
    return value
