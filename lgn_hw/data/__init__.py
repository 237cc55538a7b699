"""Data stage: datasets and encoders from raw features to input bits."""

from .encoding import Encoder, Feature

__all__ = ["Encoder", "Feature"]
