"""Distributed sessions on a local cluster of real processes: per-step overhead and MLP tower throughput.

Run: python bench/dist_overhead.py [--steps N]
Starts ``dask scheduler`` and named ``dask worker`` processes on 127.0.0.1 (``dataflow.cluster.
ProcessCluster``, one thread each, no nanny) and prints:

- on a 2-worker cluster (worker-0, worker-1: the issue's "local 2-worker cluster"), the per-step time
  of a tiny graph (``y = x * 2`` with one feed, on worker-0) and of a variable update (``assign_add``
  of a variable on worker-1): what a Dask round trip costs a run; the CPU each process (scheduler,
  workers, this client) spends per tiny run; the tiny graph also with its
  fetches gathered instead of pushed with the segment's completion event (a gather round trip), then
  also with Dask's own stream batching intervals (client 10 ms, scheduler 5/2 ms, worker 2 ms)
  instead of the session's (``dataflow.runtime.dask_plugins``);
- on a cluster of ps-0, worker-0 and worker-1, the MLP of ``examples/distributed_towers.py`` (32-64-4,
  batch 64 per tower, SGD) with its variables on ps-0 and 1 or 2 data-parallel towers on
  worker-0/worker-1: steps/s and examples/s, next to the same graph in a local ``tf.Session()``.
Each figure is the median of ``--blocks`` timed blocks after a warm-up.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# this file is named like the dask.distributed package: run as a script, its folder must not shadow it
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != HERE]
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, "examples"))

import dataflow as tf  # noqa: E402
from dataflow.cluster import ProcessCluster  # noqa: E402


def per_call(fn, n: int, blocks: int) -> float:
    """Median seconds per call over ``blocks`` blocks of ``n`` calls, after ``n`` warm-up calls."""
    for _ in range(n):
        fn()
    times = []
    for _ in range(blocks):
        t0 = time.perf_counter()
        for _ in range(n):
            fn()
        times.append((time.perf_counter() - t0) / n)
    return statistics.median(times)


def _noop(x):
    return x


def _set_intervals(to_workers: float, to_clients: float, dask_scheduler=None) -> None:
    for stream in dask_scheduler.stream_comms.values():
        stream.interval = to_workers
    for stream in dask_scheduler.client_comms.values():
        stream.interval = to_clients


def _set_push_limit(limit: int) -> None:
    from dataflow.runtime import distributed

    distributed._PUSH_LIMIT = limit


def _set_worker_interval(interval: float, dask_worker=None) -> None:
    dask_worker.batched_stream.interval = interval


def _cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process has used so far (Linux ``/proc``)."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_per_run(fn, pids: dict, n: int) -> dict:
    """CPU milliseconds per call of ``fn`` used by each process of ``pids`` (``{name: pid}``), over ``n`` calls.

    On a machine with few cores a run's wall time is bounded below by the CPU its processes use
    (here: 2 cores), and the CPU figure moves less with the machine's speed of the moment than the
    wall time does.
    """
    before = {k: _cpu_seconds(p) for k, p in pids.items()}
    for _ in range(n):
        fn()
    return {k: (_cpu_seconds(p) - before[k]) / n * 1e3 for k, p in pids.items()}


def overhead(target: str, n: int, blocks: int, pids: dict | None = None) -> dict:
    tf.reset_default_graph()
    x = tf.placeholder(tf.float32, name="x")
    with tf.device("/job:worker/task:0"):
        y = x * 2.0
    with tf.device("/job:worker/task:1"):
        v = tf.Variable(0.0, name="counter")
        inc = tf.assign_add(v, 1.0)
    out = {}
    from distributed import Client

    with Client(target, set_as_default=False) as client:  # Dask's own floor: one task, its result
        out["dask: client.submit(f, x).result()"] = per_call(
            lambda: client.submit(_noop, 1.0, pure=False).result(), n, blocks)
    with tf.Session() as local:
        out["tiny, local Session"] = per_call(lambda: local.run(y, {x: 1.0}), n, blocks)
    from dataflow.runtime import distributed as dist
    from dataflow.runtime import dask_plugins

    with tf.Session(target) as sess:
        sess.run(v.initializer)
        out["tiny (y = x * 2, one feed) on worker-0"] = per_call(lambda: sess.run(y, {x: 1.0}), n, blocks)
        if pids:
            cpu = cpu_per_run(lambda: sess.run(y, {x: 1.0}), dict(pids, client=os.getpid()), n * blocks)
            out["cpu"] = cpu
        out["assign_add on worker-1"] = per_call(lambda: sess.run(inc.op), n, blocks)
        out["assign_add on worker-1, fetching the new value"] = per_call(lambda: sess.run(inc), n, blocks)
        # the same without the pushed fetches (a gather round trip), then with Dask's stream intervals too
        sess.client.run(_set_push_limit, -1)
        out["tiny, fetches gathered (not pushed)"] = per_call(lambda: sess.run(y, {x: 1.0}), n, blocks)
        sess.client.run_on_scheduler(_set_intervals, 0.005, 0.002)
        sess.client.run(_set_worker_interval, 0.002)
        sess.client.scheduler_comm.interval = 0.010
        saved, dask_plugins.STREAM_INTERVAL_S = dask_plugins.STREAM_INTERVAL_S, 0.010
        out["tiny, fetches gathered, Dask's stream intervals (10/5/2/2 ms)"] = per_call(lambda: sess.run(y, {x: 1.0}), n, blocks)
        dask_plugins.STREAM_INTERVAL_S = saved
        sess.client.run(_set_push_limit, dist._PUSH_LIMIT)
        sess.client.run_on_scheduler(_set_intervals, saved, saved)
        sess.client.run(_set_worker_interval, saved)
    return out


def towers(target: str | None, num_towers: int, n: int, blocks: int) -> float:
    import distributed_towers as dt

    tf.reset_default_graph()
    parts = dt.build(num_towers)
    data = dt.make_data()
    with tf.Session(target or "") as sess:
        sess.run(tf.global_variables_initializer())
        return per_call(lambda: dt.train(sess, parts, data, 1), n, blocks)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--steps", type=int, default=40, help="runs per timed block")
    ap.add_argument("--blocks", type=int, default=5)
    ap.add_argument("--cluster-env", action="append", default=[], metavar="NAME=VALUE",
                    help="environment of the scheduler and workers, e.g. Dask configuration: "
                         "DASK_DISTRIBUTED__WORKER__PROFILE__ENABLED=False (repeatable)")
    args = ap.parse_args()
    env = {"PYTHONPATH": ROOT, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
    env.update(item.split("=", 1) for item in args.cluster_env)
    with ProcessCluster(worker=2, env=env) as cluster:
        print(f"cluster {cluster.target}: worker-0, worker-1 (dask worker --nthreads 1 --no-nanny)")
        pids = {"scheduler": cluster.scheduler.pid, **{n: p.pid for n, p in cluster.workers.items()}}
        for what, s in overhead(cluster.target, args.steps, args.blocks, pids).items():
            if what == "cpu":
                print(f"  {'tiny: CPU per run (ms), ' + ', '.join(f'{k} {v:.2f}' for k, v in s.items()):62s} "
                      f"{sum(s.values()):8.2f} ms in all")
            else:
                print(f"  {what:62s} {s * 1e3:8.2f} ms per run")
    with ProcessCluster(ps=1, worker=2, env=env) as cluster:
        print(f"cluster {cluster.target}: ps-0, worker-0, worker-1 (dask worker --nthreads 1 --no-nanny)")
        for k in (1, 2):
            local = towers(None, k, args.steps, args.blocks)
            dist = towers(cluster.target, k, args.steps, args.blocks)
            print(f"  MLP, {k} tower(s), batch 64 each: cluster {1 / dist:7.1f} steps/s ({64 * k / dist:8.0f} "
                  f"examples/s); local Session {1 / local:7.1f} steps/s")


if __name__ == "__main__":
    np.seterr(all="ignore")
    main()
