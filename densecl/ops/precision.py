"""The arithmetic dtype shared by every backend."""
import torch


def accumulation_dtype(*tensors):
    """float64 if any input is float64, else float32 (half inputs are upcast)."""
    return torch.float64 if any(t.dtype == torch.float64 for t in tensors) else torch.float32
