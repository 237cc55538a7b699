"""Netlist stage: the typed netlist, its file format, and the golden model."""

from .golden import Result, evaluate, predict
from .model import FORMAT, VERSION, VERSIONS, Layer, LutLayer, Netlist, NetlistError, load
from .random import mutant, random_netlist

__all__ = [
    "FORMAT", "VERSION", "VERSIONS", "Layer", "LutLayer", "Netlist", "NetlistError", "load",
    "Result", "evaluate", "predict", "random_netlist", "mutant",
]
