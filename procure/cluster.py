"""The one distributed engine of procure: Dask, a local cluster by default or an existing one by address.

``procure stress`` sends chunks of draws through it and ``procure batch`` its
scenarios, so a CI runner and a cluster use one code path. Each worker process
runs one thread, and HiGHS is told to use one too: no oversubscription.

The local cluster runs with quieter timers (:data:`QUIET_TIMERS`): every Dask
process wakes every 20 ms by default to watch its own event loop, and on a
virtual machine each wake-up of an idle virtual CPU can cost the busy one its
time slice (hypervisor "steal" time). On this project's 2-core benchmark VM a
worker solving draws (``benchmarks/stress.py``) was measured to get more of its
core with a 1 s tick, and to finish the same draws sooner (figures in
``benchmarks/RESULTS.md``). The watchdog still warns of an event loop blocked for
3 s. The workers' statistical profiler (a 10 ms sampling thread feeding the
dashboard, which a command-line run never shows) is off.
"""

from __future__ import annotations

import contextlib
import logging
import os
from typing import Iterator

from procure.errors import ProcureError

QUIET_TIMERS = {"distributed.admin.tick.interval": "1s", "distributed.worker.profile.enabled": False}


def local_client(workers: int):
    """A Dask ``LocalCluster`` of ``workers`` processes, one thread each, with :data:`QUIET_TIMERS`
    (the nannies hand the configuration to the worker processes they start)."""
    import dask
    from distributed import Client, LocalCluster  # imported first: it registers the defaults set below

    with dask.config.set(QUIET_TIMERS):
        cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=":0",
                               silence_logs=logging.ERROR)
        return Client(cluster, set_as_default=False)


def connect(address: str):
    """A Dask client on an existing scheduler (``tcp://host:8786``)."""
    from distributed import Client

    try:
        return Client(address, set_as_default=False, timeout="10s")
    except (OSError, TimeoutError) as exc:
        raise ProcureError(f"cannot reach the Dask scheduler at {address}: {exc}") from None


@contextlib.contextmanager
def dask_client(workers: int | None, scheduler: str | None) -> Iterator[object]:
    """A client on ``scheduler`` when given, else on a local cluster of ``workers`` processes (default: the
    machine's cores); the local cluster is shut down on leaving, an existing one is left running."""
    if workers is not None and scheduler is not None:
        raise ProcureError("give --workers (a local cluster) or --scheduler (an existing one), not both")
    client = connect(scheduler) if scheduler else local_client(workers or os.cpu_count() or 1)
    try:
        yield client
    finally:
        cluster = getattr(client, "cluster", None)
        client.close()
        if cluster is not None and not scheduler:
            cluster.close()
