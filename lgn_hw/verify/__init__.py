"""Verify stage: simulate an exported core with cocotb and check it against the golden model.

:func:`verify` builds the core with ``cocotb_tools.runner`` on Icarus Verilog or
Verilator and runs the bench shipped in ``sim/`` (random ``in_valid`` gaps,
random ``out_ready`` backpressure, an in-order scoreboard over every class and
score, and a full-rate run that checks throughput and latency).
:func:`verify_native` runs the same checks on Verilator through a compiled C++
harness (``sim/native/``), about a thousand times faster.
"""

from .native import verify_native
from .run import BENCH_TESTS, VerifyError, VerifyResult, verify
from .tools import SIMULATORS, SimulatorNotFound, check_simulator, simulator_env, verilator_bin_dir

__all__ = [
    "verify", "verify_native", "VerifyResult", "VerifyError", "BENCH_TESTS",
    "SIMULATORS", "SimulatorNotFound", "check_simulator", "simulator_env", "verilator_bin_dir",
]
