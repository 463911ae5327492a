"""Training: the batched ensemble engine and the plain single-run reference."""

from grokcore.train.engine import Ensemble, ProgressPrinter
from grokcore.train.reference import train_reference

__all__ = ["Ensemble", "ProgressPrinter", "train_reference"]
