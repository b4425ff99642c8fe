"""What a distributed session's step costs and shows: stream plugins, pushed fetches, tasks per step,
FULL_TRACE, ``sess.lower`` and ``tf.InteractiveSession(target)`` on real ``dask scheduler`` /
``dask worker`` processes (ps-0, worker-0, worker-1)."""

import json
import os
import time
import types

import numpy as np
import pytest

import dataflow as tf
from dataflow.cluster import ProcessCluster
from dataflow.runtime import dask_plugins

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {"PYTHONPATH": os.pathsep.join([ROOT, os.path.join(ROOT, "tests")])}
QUICK = tf.ConfigProto(operation_timeout_in_ms=30000)
slow = [pytest.mark.slow, pytest.mark.timeout(120)]


@pytest.fixture(scope="module")
def cluster():
    with ProcessCluster(ps=1, worker=2, env=ENV) as c:
        yield c


def regression():
    """Variables W, b and the global step on ps-0, the loss and its gradients on worker-0."""
    tf.reset_default_graph()
    x_data = np.linspace(0.0, 1.0, 50).astype(np.float32)
    with tf.device("/job:ps/task:0"):
        w = tf.Variable([0.5], name="W")
        b = tf.Variable([0.1], name="b")
        step = tf.train.get_or_create_global_step()
    with tf.device("/job:worker/task:0"):
        loss = tf.reduce_mean(tf.square(w * x_data + b - (x_data * 0.1 + 0.3)), name="loss")
    train = tf.train.GradientDescentOptimizer(0.5).minimize(loss, global_step=step)
    return w, b, step, loss, train


def doubled(task: int = 0):
    """A fresh graph: ``x`` fed, ``y = x * 2`` on ``/job:worker/task:<task>``."""
    tf.reset_default_graph()
    x = tf.placeholder(tf.float32, name="x")
    with tf.device(f"/job:worker/task:{task}"):
        y = x * 2.0
    return x, y


# ---- no cluster: the guard around Dask's stream objects ---------------------------------------------
def test_lower_interval_changes_only_a_numeric_higher_interval():
    stream = types.SimpleNamespace(interval=0.005)
    assert dask_plugins.lower_interval(stream, 0.0) and stream.interval == 0.0
    assert not dask_plugins.lower_interval(stream, 0.001) and stream.interval == 0.0  # never raised
    odd = types.SimpleNamespace(interval="5ms")
    assert not dask_plugins.lower_interval(odd, 0.0) and odd.interval == "5ms"  # a changed Dask: left alone
    assert not dask_plugins.lower_interval(object(), 0.0) and not dask_plugins.lower_interval(None, 0.0)
    scheduler = types.SimpleNamespace(stream_comms={"tcp://w": types.SimpleNamespace(interval=0.005)})
    dask_plugins.FastStreams(0.0).add_worker(scheduler=scheduler, worker="tcp://w")
    assert scheduler.stream_comms["tcp://w"].interval == 0.0
    dask_plugins.FastStreams(0.0).add_worker(scheduler=types.SimpleNamespace(), worker="tcp://w")  # no streams


def test_install_is_best_effort():
    class Refusing:  # a scheduler that cannot unpickle the plugin answers registration with an error
        def __init__(self):
            self.plugins = []

        def register_plugin(self, plugin):
            self.plugins.append(plugin)
            raise ModuleNotFoundError("No module named 'dataflow'")

    client = Refusing()
    assert dask_plugins.install(client) is False
    assert isinstance(client.plugins[0], dask_plugins.FastStreams)
    accepting = types.SimpleNamespace(plugins=[])
    accepting.register_plugin = accepting.plugins.append
    assert dask_plugins.install(accepting) is True
    assert [type(p) for p in accepting.plugins] == [dask_plugins.FastStreams, dask_plugins.FastWorkerStream]
    assert all(p.idempotent for p in accepting.plugins)  # every session registers them: the first stays


# ---- on a cluster --------------------------------------------------------------------------------------
def _scheduler_intervals(dask_scheduler=None):
    return ([s.interval for s in dask_scheduler.stream_comms.values()],
            [s.interval for s in dask_scheduler.client_comms.values()])


def _worker_interval(dask_worker=None):
    return dask_worker.batched_stream.interval


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_session_lowers_every_stream_interval(cluster):
    tf.reset_default_graph()
    y = tf.constant(2.0) * 3.0
    with tf.Session(cluster.target, config=QUICK) as sess:
        assert sess.run(y) == 6.0
        to_workers, to_clients = sess.client.run_on_scheduler(_scheduler_intervals)
        assert len(to_workers) == 3 and max(to_workers) == dask_plugins.STREAM_INTERVAL_S  # Dask's: 5 ms
        assert max(to_clients) == dask_plugins.STREAM_INTERVAL_S  # Dask's: 2 ms
        assert set(sess.client.run(_worker_interval).values()) == {dask_plugins.STREAM_INTERVAL_S}  # 2 ms
        assert sess.client.scheduler_comm.interval == dask_plugins.STREAM_INTERVAL_S  # Dask's: 10 ms


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_small_fetches_come_with_the_completion_large_ones_are_gathered(cluster):
    x, y = doubled()
    with tf.device("/job:ps/task:0"):
        big = tf.Variable(np.zeros(5000, np.float32), name="big")
        bump = tf.assign_add(big, tf.ones([5000]))  # fetched: 20 kB, with a variable written
    with tf.Session(cluster.target, config=QUICK) as sess:
        sess.run(big.initializer)
        gather = sess.client.gather
        gathered = []
        sess.client.gather = lambda *a, **k: gathered.append(a) or gather(*a, **k)
        try:
            for i in range(5):
                assert sess.run(y, {x: float(i)}) == 2.0 * i
            assert gathered == []  # every small fetch arrived pushed, no gather round trip
            for i in range(1, 3):
                np.testing.assert_array_equal(sess.run(bump), np.full(5000, i, np.float32))
            assert len(gathered) == 2  # too large to push: gathered, through a getitem on ps-0
            np.testing.assert_array_equal(sess.run(big), np.full(5000, 2, np.float32))
        finally:
            sess.client.gather = gather
        assert sess._pushed == {}


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_a_training_step_is_one_task_per_segment(cluster):
    from dask.utils import key_split

    w, b, step, loss, train = regression()
    with tf.Session() as local:
        local.run(tf.global_variables_initializer())
        want = [local.run([train, loss])[1] for _ in range(5)] + [local.run([w, b, step])]
    with tf.Session(cluster.target, config=QUICK) as sess:
        sess.run(tf.global_variables_initializer())
        sess.run([train, loss])
        sess.client.get_task_stream()  # start recording
        first = next(sess._steps) + 1  # the step number of the next run (task keys end with it)
        got = [sess.run([train, loss])[1] for _ in range(4)]
        got.append(sess.run([w, b, step]))
        plan = next(p for p in sess._plans.values() if len(p.fetch_targets) == 2 and
                    any(sp.name == "GradientDescent" for sp in p.segs))
        running = [sp for sp in plan.segs if not sp.skip]

        def recorded():  # the four steps' tasks (a run ends on its events, the stream on completions)
            return [t["key"] for t in sess.client.get_task_stream() if f"-{plan.token}-" in t["key"]
                    and int(t["key"].rsplit("-", 1)[1]) in range(first, first + 4)]

        deadline = time.monotonic() + 20
        while len(keys := recorded()) < 4 * len(running) and time.monotonic() < deadline:
            time.sleep(0.2)
    np.testing.assert_allclose(got[:4], [float(v) for v in want[1:5]], rtol=1e-6)
    for g, r in zip(got[4], want[5]):
        np.testing.assert_allclose(g, r, rtol=1e-6)
    names = {key_split(k) for k in keys}
    # no getitem task per updated variable (W, b, global_step) and none for the fetched loss
    assert not any(n.startswith(("W", "b", "global_step", "getitem", "fetch")) for n in names), names
    assert len(keys) == 4 * len(running), (keys, [sp.name for sp in running])
    assert len(running) == 2, [sp.name for sp in running]  # the loss and gradients on worker-0, the update on ps-0


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_full_trace_on_a_cluster(cluster, tmp_path):
    w, b, step, loss, train = regression()
    with tf.Session(cluster.target, config=QUICK) as sess:
        sess.run(tf.global_variables_initializer())
        options = tf.RunOptions(trace_level=tf.RunOptions.FULL_TRACE)
        for _ in range(2):  # the second run's stats hold only its own timings
            meta = tf.RunMetadata()
            t0 = time.time()
            _, value = sess.run([train, loss], options=options, run_metadata=meta)
            t1 = time.time()
        assert sess.run(step) == 2 and value == pytest.approx(sess.run(loss), rel=0.5)
    devices = {d.device: d.node_stats for d in meta.step_stats.dev_stats}
    worker, ps = "/job:worker/replica:0/task:0/device:CPU:0", "/job:ps/replica:0/task:0/device:CPU:0"
    assert set(devices) == {worker, ps}, set(devices)
    on_worker = [n.node_name for n in devices[worker]]
    on_ps = [n.node_name for n in devices[ps]]
    assert "loss" in on_worker and on_worker.count("loss") == 1
    assert any(n.startswith("GradientDescent/update_W/") for n in on_ps), on_ps
    assert sum(n.op_type == "_RunSegment" for d in devices.values() for n in d) == 2  # one per segment task
    for d in devices.values():
        for n in d:
            assert t0 * 1e6 - 1e4 <= n.all_start_micros <= t1 * 1e6 + 1e4  # wall clock of this run
            assert 0 <= n.op_end_rel_micros <= (t1 - t0) * 1e6 + 1e4
    assert len(meta.partition_graphs) >= 2
    text = tf.debug.timeline(meta, str(tmp_path / "trace.json"))
    events = json.loads(text)["traceEvents"]
    assert {"loss", "GradientDescent"} <= {e.get("name") for e in events} | {
        e.get("args", {}).get("name") for e in events}


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_lower_gives_the_cluster_run_as_a_dask_graph(cluster):
    import dask

    w, b, step, loss, train = regression()
    x = tf.placeholder(tf.float32, name="x")
    with tf.device("/job:worker/task:1"):
        z = x * w + b
    with tf.Session(cluster.target, config=QUICK) as sess:
        sess.run(tf.global_variables_initializer())
        sess.run(train)
        lowered = sess.lower({"loss": loss, "z": z, "x": x}, {x: [1.0, 2.0]})
        graph = lowered.__dask_graph__()
        assert any(k.startswith("loss-") for k in graph), list(graph)
        # placed as a run is: each worker's tasks in a layer whose annotations name the worker
        placed = {k: layer.annotations["workers"] for layer in graph.layers.values() for k in layer}
        assert {k.split("-")[0]: w for k, w in placed.items()} == {"loss": ["worker-0"], "add_1": ["worker-1"]}, placed
        (got,) = dask.compute(lowered)
        want = sess.run({"loss": loss, "z": z, "x": x}, {x: [1.0, 2.0]})
        assert set(got) == {"loss", "z", "x"}
        assert got["loss"] == pytest.approx(want["loss"])
        np.testing.assert_allclose(got["z"], want["z"])
        np.testing.assert_allclose(got["x"], [1.0, 2.0])
        dask.compute(sess.lower(train))  # computes an update, but the session's variables stay
        assert sess.run(step) == 1
        assert sess.run(loss) == pytest.approx(want["loss"])


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_interactive_session_on_a_cluster(cluster):
    from dataflow.runtime.distributed import DistributedSession

    w, b, step, loss, train = regression()
    sess = tf.InteractiveSession(cluster.target, config=QUICK)
    try:
        assert isinstance(sess, DistributedSession) and isinstance(sess, tf.InteractiveSession)
        assert tf.get_default_session() is sess
        tf.global_variables_initializer().run()
        train.run()
        assert step.eval() == 1
        assert sess._vars["W"][0].key.startswith("GradientDescent-")  # held on the cluster, not locally
    finally:
        sess.close()
    assert tf.get_default_session() is None


# ---- where a segment runs on its worker, and where its description comes from -----------------------
def _counts(sess) -> dict:
    """``{segment name: {"loop": n, "thread": n}}``: where the session's segments ran, over all workers."""
    from dataflow.runtime.distributed import _run_counts

    out = {}
    for plan in sess._plans.values():
        for per_worker in sess.client.run(_run_counts, plan.key).values():
            for i, c in per_worker.items():
                out[plan.segs[i].name] = c
    return out


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_small_segments_run_on_the_workers_event_loop(cluster):
    tf.reset_default_graph()
    x = tf.placeholder(tf.float32, name="x")
    with tf.device("/job:worker/task:0"):
        y = tf.multiply(x, 2.0, name="double")
        slow_y = tf.py_func(lambda v: v * 3.0, [x], tf.float32, name="by_py_func")  # user code may block
        big = tf.matmul(tf.random_normal([1500, 1500], seed=1), tf.random_normal([1500, 1500], seed=2), name="mm")
        heavy = tf.reduce_sum(big, name="heavy")  # a segment that takes well over a millisecond
    with tf.device("/job:ps/task:0"):
        v = tf.Variable(0.0, name="counter")
        inc = tf.assign_add(v, 1.0, name="inc")
    with tf.Session(cluster.target, config=QUICK) as sess:
        sess.run(v.initializer)
        for i in range(5):
            assert sess.run(y, {x: float(i)}) == 2.0 * i
            assert sess.run(slow_y, {x: float(i)}) == 3.0 * i
            sess.run(heavy)
            assert sess.run(inc) == i + 1
        # the first run builds the segment in a worker thread; later ones of a quick segment on the loop
        counts = _counts(sess)
        assert counts.pop("counter/Assign") == {"loop": 0, "thread": 1}  # the initializer, run once
        assert counts == {"double": {"loop": 4, "thread": 1}, "inc": {"loop": 4, "thread": 1},
                          "by_py_func": {"loop": 0, "thread": 5}, "heavy": {"loop": 0, "thread": 5}}, counts
        # a quick segment given a large input goes back to a thread (its time is only known for small ones)
        large = np.ones(1 << 17, np.float32)  # 512 KiB
        np.testing.assert_array_equal(sess.run(y, {x: large}), large * 2.0)
        assert _counts(sess)["double"] == {"loop": 4, "thread": 2}


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_plan_descriptions_wait_in_the_schedulers_metadata(cluster):
    from distributed import Client

    from dataflow.runtime.distributed import _forget, _plan_path

    x, y = doubled(task=1)
    sess = tf.Session(cluster.target, config=QUICK)
    try:
        assert sess.run(y, {x: 1.0}) == 2.0
        plan = next(iter(sess._plans.values()))
        # the run's task has no dependency on the description (no blob task, no key-in-memory report per run)
        assert sess.client.get_metadata(_plan_path(sess._id, plan.key)) is not None
        held = sess._held + sess._lazy
        assert held and all(not f.key.endswith("-blob") for f in held)
        # a worker that lost its cache (restarted under its name) reads the description again
        sess.client.run(_forget, sess._id, [plan.key])
        assert sess.run(y, {x: 2.0}) == 4.0
        sid = sess._id
    finally:
        sess.close()
    with Client(cluster.target, set_as_default=False) as client:
        assert client.get_metadata(_plan_path(sid), default="absent") is None  # dropped on close


def _keys_with(token, dask_scheduler=None):
    return sorted(k for k in dask_scheduler.tasks if token in str(k))


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_small_results_are_released_together_large_ones_with_the_next_run(cluster):
    from dataflow.runtime.distributed_session import _LAZY_RELEASES

    x, y = doubled()  # y: a fetch that comes with the event, a small result
    with tf.device("/job:worker/task:0"):
        big = tf.tile(tf.reshape(x, [1]), [4096])  # 16 KiB fetched: gathered, released with the next run
    with tf.Session(cluster.target, config=QUICK) as sess:
        for i in range(_LAZY_RELEASES + 5):
            assert sess.run(y, {x: float(i)}) == 2.0 * i
        token = next(p.token for p in sess._plans.values())
        # the results of the last runs since the last batch of releases, and no more
        assert len(sess._lazy) == 5 and sess._held == []
        deadline = time.monotonic() + 10
        while len(keys := sess.client.run_on_scheduler(_keys_with, token)) > 5 and time.monotonic() < deadline:
            time.sleep(0.1)
        assert len(keys) == 5, keys
        np.testing.assert_array_equal(sess.run(big, {x: 3.0}), np.full(4096, 3.0, np.float32))
        assert len(sess._held) == 1 and len(sess._lazy) == 5  # a large result is not kept back
        sess.run(y, {x: 1.0})
        assert sess._held == [] and len(sess._lazy) == 6


@pytest.mark.slow
@pytest.mark.timeout(120)
def test_sending_a_plan_is_a_bounded_wait(cluster):
    import asyncio

    x, y = doubled()
    with tf.Session(cluster.target, config=tf.ConfigProto(operation_timeout_in_ms=2000)) as sess:
        rpc = sess.client.scheduler

        class Stalled:  # a scheduler that never answers the request
            async def set_metadata(self, **kw):
                await asyncio.sleep(3600)

        class Failing:  # a connection that breaks while the request is sent
            async def set_metadata(self, **kw):
                raise OSError("Connection reset by peer")

        try:
            sess.client.scheduler = Stalled()
            t0 = time.monotonic()
            with pytest.raises(tf.errors.UnavailableError, match="no answer within 2 s"):
                sess.run(y, {x: 1.0})
            assert time.monotonic() - t0 < 10
            sess.client.scheduler = Failing()
            with pytest.raises(tf.errors.UnavailableError, match="Connection reset by peer"):
                sess.run(y, {x: 1.0})
        finally:
            sess.client.scheduler = rpc
        assert sess.run(y, {x: 1.0}) == 2.0  # nothing half-planned was kept
