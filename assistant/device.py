"""Pick the torch device: CUDA when asked for or available, CPU otherwise."""

from __future__ import annotations


def cuda_available() -> bool:
    try:
        import torch
    except ImportError:
        return False
    return bool(torch.cuda.is_available())


def pick_device(preference: str = "auto") -> str:
    """Resolve 'auto' | 'cpu' | 'cuda'. Asking for CUDA without a GPU is a clear error, not a crash later."""
    if preference == "cpu":
        return "cpu"
    if preference == "cuda":
        if not cuda_available():
            raise RuntimeError(
                "device=cuda was requested but no CUDA GPU is available; use device=auto or cpu."
            )
        return "cuda"
    return "cuda" if cuda_available() else "cpu"
