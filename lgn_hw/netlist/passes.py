"""Shortcut to :mod:`lgn_hw.netlist.opt` (the optimiser): ``from lgn_hw.netlist.passes import optimize``."""

from .opt import *  # noqa: F401,F403
from .opt import __all__  # noqa: F401
