"""Device choice and CPU threading."""

from __future__ import annotations

import ctypes
import functools
import os
import sys

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


@functools.cache
def keep_freed_memory() -> bool:
    """glibc: keep freed blocks of up to 64 MiB in the heap instead of returning them to the OS.

    A batched ensemble's activations and optimizer temporaries are multi-MB tensors that
    are freed and reallocated every step; by default glibc unmaps them and the next
    step page-faults them back in, which cost 15-20% of a step in bench/. This is the
    runtime form of MALLOC_MMAP_THRESHOLD_ / MALLOC_TRIM_THRESHOLD_. Returns whether it
    was applied (only on Linux with glibc; a no-op elsewhere).
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL("libc.so.6")
        m_trim_threshold, m_mmap_threshold = -1, -3
        ok = libc.mallopt(m_mmap_threshold, 64 << 20) and libc.mallopt(m_trim_threshold, 1 << 30)
    except (OSError, AttributeError):
        return False
    return bool(ok)
