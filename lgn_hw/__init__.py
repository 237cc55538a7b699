"""lgn-hw: logic-gate networks from PyTorch training to verified FPGA hardware."""

import os

# OpenMP threads (torch's, and the fused CPU op's) wait passively unless the user
# chose a policy. With libgomp's default, a busy machine is pathological: on 2 cores
# with one other busy process, a 4 x 4000-gate training step took 814 ms instead of
# 12.7 ms (bench/train_step.py --busy 1). libgomp reads this when torch loads it,
# so it is set here, before any lgn_hw module imports torch.
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

__version__ = "0.1.0"
__all__ = ["__version__"]
