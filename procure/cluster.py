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


CONNECT_TIMEOUT_S = 10.0  # seconds: the whole of reaching a scheduler, handshake included


async def _handshake(address: str, timeout_s: float) -> None:
    """Open a connection to ``address`` and exchange Dask's handshake, all within ``timeout_s``, then close."""
    import asyncio

    from distributed.comm import connect as dask_connect

    # Dask gives up connecting after timeout_s with its own reason; the second more bounds the handshake
    comm = await asyncio.wait_for(dask_connect(address, timeout=timeout_s), timeout_s + 1)
    await comm.close()


def connect(address: str, timeout_s: float | None = None):
    """A Dask client on an existing scheduler (``tcp://host:8786``), or :class:`ProcureError` within
    ``timeout_s`` (default :data:`CONNECT_TIMEOUT_S`) saying why not.

    Dask bounds the connection but not the handshake that follows: a server that accepts and never
    speaks would hold ``Client()`` forever. So the scheduler is first reached here with the whole
    exchange under one deadline; an address Dask cannot parse is refused before any client exists (a
    half-made client spends 20 s closing itself)."""
    import asyncio

    from distributed import Client
    from distributed.comm import parse_address

    timeout_s = CONNECT_TIMEOUT_S if timeout_s is None else timeout_s
    try:
        parse_address(address)
        asyncio.run(_handshake(address, timeout_s))
    except ValueError as exc:
        raise ProcureError(f"--scheduler '{address}' is not a Dask scheduler address ({exc}); "
                           "expected e.g. tcp://host:8786 or tcp://[::1]:8786") from None
    except TimeoutError:  # connected, and then silence
        raise ProcureError(f"cannot reach the Dask scheduler at {address}: a server there accepted the connection "
                           f"but did not answer Dask's handshake within {timeout_s + 1:g} s (not a Dask scheduler, "
                           "or a stuck one)") from None
    except OSError as exc:
        # Dask's cause reads "in <TCPConnector object at 0x...>: ConnectionRefusedError: ...": the reason is the end
        cause = f" ({str(exc.__cause__).rsplit('>: ', 1)[-1]})" if exc.__cause__ is not None else ""
        raise ProcureError(f"cannot reach the Dask scheduler at {address}: {exc}{cause}") from None
    try:
        return Client(address, set_as_default=False, timeout=f"{timeout_s}s")
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
