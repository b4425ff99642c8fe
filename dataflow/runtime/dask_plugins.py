"""Dask plugins a distributed session installs on its cluster: message streams without batching delays.

Every long-lived connection of dask.distributed sends through a ``distributed.batched.BatchedSend``,
which writes at most one batch of messages per *interval*: a message queued less than the interval
after the previous write waits out the rest of it. The intervals are fixed by Dask's code, not by its
configuration: client -> scheduler 10 ms, scheduler -> worker 5 ms, scheduler -> client 2 ms,
worker -> scheduler 2 ms. They buy throughput for graphs of many thousands of small tasks; a session
run is a handful of tasks in a chain, each waiting for its predecessor's message, so every hop of a
step could wait an interval (the release of the last step's futures, then this step's tasks, on the
same stream). :data:`STREAM_INTERVAL_S` replaces them all:

- :class:`FastStreams` (a ``SchedulerPlugin``) lowers the scheduler's streams to its workers
  (``scheduler.stream_comms``, also for workers that join later: ``add_worker``) and to its clients
  (``scheduler.client_comms``: those connected when it starts, then each client's at its first
  ``update_graph``); every session registers it on connect (the first registration stays);
- :class:`FastWorkerStream` (a ``WorkerPlugin``) lowers the worker's stream to the scheduler
  (``worker.batched_stream``);
- the session lowers its own client's stream (``Client.scheduler_comm``) before each run.

A ``BatchedSend`` still batches what queues up while a write is in progress, so a busy cluster keeps
sending lists of messages. The plugins only *read and set the ``interval`` attribute* of those
``BatchedSend`` objects (public attributes of public classes, reached from the objects the plugin
hooks receive; no private Dask module). :func:`lower_interval` does that guarded: when a Dask release
renames or removes any of them, nothing is changed and Dask's defaults stay, so runs are only slower.
Registration itself is best effort too (:func:`install`): a scheduler that cannot import
``dataflow`` refuses the plugin, and the session runs on with Dask's intervals.
"""

from __future__ import annotations

import logging

from distributed import SchedulerPlugin, WorkerPlugin

logger = logging.getLogger(__name__)

STREAM_INTERVAL_S = 0.0
"""Seconds between two writes of a stream (0: write as soon as the previous write is done)."""


def lower_interval(stream, interval: float | None = None) -> bool:
    """Set ``stream.interval`` (a ``BatchedSend``'s, in seconds) to ``interval`` if it is higher.

    ``interval`` defaults to :data:`STREAM_INTERVAL_S`.
    Returns whether it was changed. Anything that is not a number-valued ``interval`` is left alone.
    """
    interval = STREAM_INTERVAL_S if interval is None else interval
    current = getattr(stream, "interval", None)
    if isinstance(current, (int, float)) and not isinstance(current, bool) and current > interval:
        stream.interval = interval
        return True
    return False


class FastStreams(SchedulerPlugin):
    """Scheduler plugin: the scheduler's streams to workers and clients write without waiting."""

    name = "dataflow-fast-streams"
    idempotent = True  # registered by every session: the first registration stays

    def __init__(self, interval: float | None = None):
        self.interval = STREAM_INTERVAL_S if interval is None else interval

    async def start(self, scheduler) -> None:
        for streams in (getattr(scheduler, "stream_comms", None), getattr(scheduler, "client_comms", None)):
            if isinstance(streams, dict):
                for stream in list(streams.values()):
                    lower_interval(stream, self.interval)

    def add_worker(self, scheduler=None, worker=None) -> None:
        streams = getattr(scheduler, "stream_comms", None)
        if isinstance(streams, dict) and worker in streams:
            lower_interval(streams[worker], self.interval)

    def update_graph(self, scheduler, *, client=None, **kwargs) -> None:
        # a client that connected after the plugin started (its stream is made after add_client runs)
        streams = getattr(scheduler, "client_comms", None)
        if isinstance(streams, dict) and client in streams:
            lower_interval(streams[client], self.interval)


class FastWorkerStream(WorkerPlugin):
    """Worker plugin: the worker's stream to the scheduler writes without waiting."""

    name = "dataflow-fast-worker-stream"
    idempotent = True

    def __init__(self, interval: float | None = None):
        self.interval = STREAM_INTERVAL_S if interval is None else interval

    def setup(self, worker) -> None:
        lower_interval(getattr(worker, "batched_stream", None), self.interval)


def install(client) -> bool:
    """Register :class:`FastStreams` and :class:`FastWorkerStream` through ``client``; False if refused.

    The plugins are idempotent: a cluster keeps the first registration. Failure (a scheduler or worker that cannot import ``dataflow``, a Dask that
    refuses pickled plugins) is logged and leaves Dask's intervals.
    """
    try:
        client.register_plugin(FastStreams())
        client.register_plugin(FastWorkerStream())
        return True
    except Exception as e:  # noqa: BLE001 - best effort: the cluster works, only with Dask's batching
        logger.info("dataflow: could not install the stream plugins (%s: %s); Dask's batching intervals stay",
                    type(e).__name__, e)
        return False

