"""Claim statistics: histories in, checks and a verdict out.

Each function here is the statistic of one kind of claim in CLAIMS.md, written
once so that the claim test and the unit test that feeds it the control (or
synthetic data that violates the claim) run the very same code.

Every statistic has a *positive control*: an arm that must show the phenomenon at all
(grokking happens in this setting, within this budget). When it fails, the comparison
says nothing about the claim, so the verdict is INCONCLUSIVE with the reason
"positive control failed: …", never REFUTED and never SUPPORTED by vacuity. The
positive control is the first entry of the judgement's `control` checks.
"""

from grokcore.verdicts.arms import delay_ratio, switch_arms
from grokcore.verdicts.band import comprehension_band, comprehension_band_runs
from grokcore.verdicts.cells import cells_grok
from grokcore.verdicts.critical import critical_fraction
from grokcore.verdicts.decay import decay_halving, decay_necessary
from grokcore.verdicts.delays import data_speedup, delay_contrast
from grokcore.verdicts.fraction import fraction_speedup
from grokcore.verdicts.grid import condition_table, init_decay_grid
from grokcore.verdicts.judgement import (
    Judgement,
    judge_checks,
    merge,
    positive_control,
    share_generalizing,
    timings,
)
from grokcore.verdicts.landscape import range_ratio
from grokcore.verdicts.late import delayed_accuracy, late_loss_drop, late_loss_drop_runs
from grokcore.verdicts.lu import lu_curves, lu_curves_runs, reduced_losses
from grokcore.verdicts.norms import norm_rise_fall
from grokcore.verdicts.numerics import softmax_collapse
from grokcore.verdicts.pregrok import attn_norm_peak, val_loss_rise
from grokcore.verdicts.scaling import inverse_scaling
from grokcore.verdicts.shares import HARD_OPS, delay_dominates, op_shares, op_table
from grokcore.verdicts.sizes import rqi, size_trend, size_trend_runs
from grokcore.verdicts.speedup import grokfast_setup, grokfast_speedup
from grokcore.verdicts.spikes import precision_spikes, slingshot
from grokcore.verdicts.sweep import correlation_table, sweep_correlations, sweep_correlations_runs
from grokcore.verdicts.table import table_row
from grokcore.verdicts.ungrokking import min_runs_for_bound, no_ungrokking

__all__ = [
    "HARD_OPS",
    "Judgement",
    "attn_norm_peak",
    "cells_grok",
    "comprehension_band",
    "comprehension_band_runs",
    "condition_table",
    "correlation_table",
    "critical_fraction",
    "data_speedup",
    "decay_halving",
    "decay_necessary",
    "delay_contrast",
    "delay_dominates",
    "delay_ratio",
    "delayed_accuracy",
    "fraction_speedup",
    "grokfast_setup",
    "grokfast_speedup",
    "init_decay_grid",
    "inverse_scaling",
    "judge_checks",
    "late_loss_drop",
    "late_loss_drop_runs",
    "lu_curves",
    "lu_curves_runs",
    "merge",
    "min_runs_for_bound",
    "no_ungrokking",
    "norm_rise_fall",
    "op_shares",
    "op_table",
    "positive_control",
    "precision_spikes",
    "range_ratio",
    "reduced_losses",
    "rqi",
    "share_generalizing",
    "size_trend",
    "size_trend_runs",
    "slingshot",
    "softmax_collapse",
    "sweep_correlations",
    "sweep_correlations_runs",
    "switch_arms",
    "table_row",
    "timings",
    "val_loss_rise",
]
