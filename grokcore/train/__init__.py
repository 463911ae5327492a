"""Training: the batched ensemble engine and the plain single-run reference."""

from grokcore.train.engine import Ensemble
from grokcore.train.reference import train_reference

__all__ = ["Ensemble", "train_reference"]
