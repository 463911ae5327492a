"""Train a plan on SLURM (or in N local processes) through submitit, then judge it.

    grokcore submit -k OG- --scale full --shards 8 --gpus-per-task 1 \\
        --run-cache /shared/cache --log-dir /shared/logs/og
    grokcore status /shared/logs/og

The plan's shards (`grokcore.plan`: whole ensembles balanced by cost, the same cut in every
process) are the tasks of one submitit job array (`map_array`). Each task rebuilds the plan
from the selection and trains its shard into the shared cache. A dependent job (afterany on
the array) then looks at the shards: one that failed, was cancelled or lost its node and
still lacks runs is resubmitted once, with the tail of its log; otherwise it runs the judging,
`pytest claims/ --train-limit 0`, which writes the report from the cache. With --wait (and
always with the local executor) the submitting process does that instead.

The cache is the state. A shard trains only the runs the cache lacks, the per-key locks of
`grokcore.cache` keep two processes from training one run, and submitting again trains only
what is missing. A small state file under the log dir (`STATE_FILE`: the selection, the job
ids, the shard count) is what `grokcore status` and `--resume` read.

Job states come from scontrol and submitit's result files, never from submitit's own state
calls: those ask sacct, and a cluster without accounting (CI's one-node SLURM) has none.
"""

from __future__ import annotations

from grokcore.slurm.cli import add_parsers, command
from grokcore.slurm.jobs import ShardRunner, ShardTask
from grokcore.slurm.state import STATE_FILE, Resources, Selection, State, load, save, state_path
from grokcore.slurm.status import ShardStatus, job_states, statuses, table
from grokcore.slurm.submit import finish, judge, step, submit, wait_and_judge

__all__ = [
    "STATE_FILE",
    "Resources",
    "Selection",
    "ShardRunner",
    "ShardStatus",
    "ShardTask",
    "State",
    "add_parsers",
    "command",
    "finish",
    "job_states",
    "judge",
    "load",
    "save",
    "state_path",
    "statuses",
    "step",
    "submit",
    "table",
    "wait_and_judge",
]
