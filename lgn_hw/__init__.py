"""lgn-hw: logic-gate networks from PyTorch training to verified FPGA hardware."""

__version__ = "0.1.0"
__all__ = ["__version__"]
