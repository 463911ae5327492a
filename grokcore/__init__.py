"""grokcore: replicate grokking claims by batched, seeded, cached training and statistics.

The public API is re-exported here; implementation modules are private by convention.
"""

from grokcore.config import (
    CORE_VERSION,
    MLP,
    EmbedMLP,
    MnistTask,
    ModularTask,
    OneHotMLP,
    Optimizer,
    Recurrent,
    RunConfig,
    TeacherStudentTask,
    Transformer,
)
from grokcore.history import History
from grokcore.record import Check, ClaimRecord, Figure, Verdict

__version__ = "0.1.0"

__all__ = [
    "CORE_VERSION",
    "MLP",
    "Check",
    "ClaimRecord",
    "EmbedMLP",
    "Figure",
    "History",
    "MnistTask",
    "ModularTask",
    "OneHotMLP",
    "Optimizer",
    "Recurrent",
    "RunConfig",
    "TeacherStudentTask",
    "Transformer",
    "Verdict",
]
