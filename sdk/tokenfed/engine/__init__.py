"""Bulk verify-and-settle: many receipt files to the period's statements.

Each file is a partition verified on its own (REC-040 steps 1 to 11); partition results are
combined as a commutative monoid (:class:`PartitionResult`) and only the total decides replays,
duplicates and chains (:func:`finish`), so the statements do not depend on how the work was
split. :func:`run` works serially in-process, on a Dask ``LocalCluster``, or on an existing Dask
distributed cluster (``scheduler``).
"""

from ._monoid import Outcome, PartitionResult, finish, line_results
from ._run import (
    QUIET_DASK,
    Partition,
    RunResult,
    expand,
    local_cluster,
    plan_partitions,
    run,
    verify_partition,
    write_results,
    write_statements,
)

__all__ = [
    "QUIET_DASK",
    "Outcome",
    "Partition",
    "PartitionResult",
    "RunResult",
    "expand",
    "finish",
    "line_results",
    "local_cluster",
    "plan_partitions",
    "run",
    "verify_partition",
    "write_results",
    "write_statements",
]
