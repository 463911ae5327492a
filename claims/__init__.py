"""The claims: one declared spec per published claim (`grokcore.spec`), a module per paper.

`REGISTRY` holds them all, in the order the report lists them; `claims/test_claims.py`
turns each into one test, and `grokcore plan` plans their runs.
"""

from __future__ import annotations

from grokcore.spec import Registry

from . import (
    arn,
    beyond,
    beyond_continued,
    beyond_grokfast,
    beyond_weights,
    li_sakib,
    omnigrok,
    rnn_poster,
)

REGISTRY = Registry(
    [
        *omnigrok.SPECS,
        *li_sakib.SPECS,
        *arn.SPECS,
        *rnn_poster.SPECS,
        *beyond.SPECS,
        *beyond_weights.SPECS,
        *beyond_grokfast.SPECS,
        *beyond_continued.SPECS,
    ]
)
