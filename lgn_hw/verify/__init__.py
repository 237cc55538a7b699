"""Verify stage: simulate an exported core with cocotb and check it against the golden model.

:func:`verify` builds the core with ``cocotb_tools.runner`` on Icarus Verilog or
Verilator and runs the bench shipped in ``sim/`` (random ``in_valid`` gaps,
random ``out_ready`` backpressure, an in-order scoreboard over every class and
score, and a full-rate run that checks throughput and latency).
:func:`verify_native` runs the same checks on Verilator through a compiled C++
harness (``sim/native/``), about a thousand times faster. Builds live in the
user's cache (:class:`BuildCache`), keyed by what is built.
"""

from ..tools import SIMULATORS
from .cache import BuildCache, CacheError, build_key, default_cache_root
from .native import verify_native
from .proof import PartsResult, prove_parts
from .run import BENCH_TESTS, VerifyError, VerifyResult, verify

__all__ = [
    "verify", "verify_native", "VerifyResult", "VerifyError", "BENCH_TESTS", "SIMULATORS",
    "BuildCache", "CacheError", "build_key", "default_cache_root", "prove_parts", "PartsResult",
]
