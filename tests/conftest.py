"""Shared fixtures of the core's unit tests."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    """Tiny tensors: intra-op threads only add sync overhead, and on a busy 2-core machine
    they make every op 10-100x slower (xdist workers already run one thread each)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
