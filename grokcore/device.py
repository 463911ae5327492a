"""Device choice and CPU threading."""

from __future__ import annotations

import os

import torch


def default_device() -> torch.device:
    """CUDA when available, else CPU; `GROKCORE_DEVICE` overrides."""
    name = os.environ.get("GROKCORE_DEVICE")
    if name:
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def configure_threads() -> int:
    """One torch thread per pytest-xdist worker on CPU (workers already fill the cores)."""
    if os.environ.get("PYTEST_XDIST_WORKER") and not torch.cuda.is_available():
        torch.set_num_threads(1)
    return torch.get_num_threads()


def describe_device(device: torch.device) -> str:
    """A human-readable name: the GPU model, or the CPU model and core count."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    model = ""
    try:
        with open("/proc/cpuinfo") as f:
            model = next(
                (ln.split(":", 1)[1].strip() for ln in f if ln.startswith("model name")), ""
            )
    except OSError:
        pass
    return f"CPU {model or 'unknown'} ({os.cpu_count()} cores, {torch.get_num_threads()} threads)"
