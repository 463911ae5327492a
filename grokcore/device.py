"""Device choice and validation, CPU threading, and the memory a device has free."""

from __future__ import annotations

import ctypes
import functools
import os
import sys
from pathlib import Path

import torch

ENV_VAR = "GROKCORE_DEVICE"


def parse_device(name: str | torch.device, source: str = "device") -> torch.device:
    """`name` as a torch device that exists here; ValueError naming `source` otherwise.

    torch.device("bogus") raises a RuntimeError, and torch.device("cuda") on a machine
    without CUDA only fails at the first tensor: both are caught here, before any work.
    """
    try:
        device = torch.device(name)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"{source}={name!r} is not a device: use cpu, cuda or cuda:N") from exc
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise ValueError(f"{source}={name!r}: CUDA is not available on this machine")
        if device.index is not None and device.index >= torch.cuda.device_count():
            raise ValueError(
                f"{source}={name!r}: this machine has {torch.cuda.device_count()} CUDA device(s)"
            )
    elif device.type == "mps":
        if not torch.backends.mps.is_available():
            raise ValueError(f"{source}={name!r}: MPS is not available on this machine")
    elif device.type != "cpu":
        raise ValueError(f"{source}={name!r}: grokcore trains on cpu, cuda or mps")
    return device


def default_device() -> torch.device:
    """CUDA when available, else CPU; `GROKCORE_DEVICE` overrides (and is validated)."""
    name = os.environ.get(ENV_VAR)
    if name:
        return parse_device(name, ENV_VAR)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def available_memory(device: torch.device) -> int | None:
    """Bytes a new allocation on `device` can use now, or None where that cannot be told.

    CPU: the kernel's MemAvailable, capped by the cgroup (container) limit when one is set,
    and by the address space `ulimit -v` (RLIMIT_AS) leaves this process.
    """
    if device.type == "cuda":
        free_cuda, _total = torch.cuda.mem_get_info(device)
        return int(free_cuda)
    if device.type != "cpu":
        return None
    free: int | None = None
    try:
        lines = Path("/proc/meminfo").read_text().splitlines()
        free = 1024 * int(next(ln for ln in lines if ln.startswith("MemAvailable:")).split()[1])
    except (OSError, ValueError, StopIteration):
        pass
    try:  # cgroup v2: the limit minus what processes hold (page cache can be reclaimed)
        cgroup = Path("/sys/fs/cgroup")
        limit = (cgroup / "memory.max").read_text().strip()
        stat = dict(ln.split() for ln in (cgroup / "memory.stat").read_text().splitlines())
        if limit != "max":
            room = max(int(limit) - int(stat["anon"]), 0)
            free = room if free is None else min(free, room)
    except (OSError, ValueError, KeyError):
        pass
    mappable = address_space_left()
    if mappable is not None:
        free = mappable if free is None else min(free, mappable)
    return free


def address_space_left() -> int | None:
    """Bytes of address space `ulimit -v` (RLIMIT_AS) still lets this process map, or None
    when there is no such limit. torch's CPU allocator fails beyond it ("can't allocate
    memory") however much memory the machine has free."""
    try:
        import resource

        soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    except (ImportError, OSError, ValueError):
        return None
    if soft == resource.RLIM_INFINITY or soft < 0:
        return None
    used = 0
    try:
        status = Path("/proc/self/status").read_text().splitlines()
        used = 1024 * int(next(ln for ln in status if ln.startswith("VmSize:")).split()[1])
    except (OSError, ValueError, StopIteration):
        pass
    return max(soft - used, 0)


_OOM_TEXT = ("can't allocate memory", "not enough memory", "out of memory")


def out_of_memory(exc: BaseException) -> bool:
    """Whether `exc` is an allocation that failed: MemoryError, CUDA's out of memory, or the
    RuntimeError of torch's CPU allocator ("DefaultCPUAllocator: can't allocate memory",
    "not enough memory"), which is what `ulimit -v` gives."""
    if isinstance(exc, MemoryError | torch.cuda.OutOfMemoryError):
        return True
    return isinstance(exc, RuntimeError) and any(t in str(exc) for t in _OOM_TEXT)


def memory_limit_note() -> str:
    """A note for an out-of-memory message when `ulimit -v` (RLIMIT_AS) is set, else ''."""
    try:
        import resource

        soft, _hard = resource.getrlimit(resource.RLIMIT_AS)
    except (ImportError, OSError, ValueError):
        return ""
    if soft == resource.RLIM_INFINITY or soft < 0:
        return ""
    return f" (ulimit -v caps this process's address space at {soft / 2**30:,.1f} GiB)"


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
