"""Distributed sessions on real ``dask scheduler`` / ``dask worker`` processes (named ps-0, worker-0...).

Each cluster test runs the same graph in a local session and on the cluster and compares the numbers;
the fault tests SIGKILL a worker mid-training and kill the scheduler.
"""

import os
import sys
import time

import numpy as np
import pytest

import dataflow as tf
from dataflow.cluster import ProcessCluster

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "examples"))
ENV = {"PYTHONPATH": os.pathsep.join([ROOT, os.path.join(ROOT, "tests")])}
QUICK = tf.ConfigProto(operation_timeout_in_ms=30000)

pytestmark = [pytest.mark.slow, pytest.mark.timeout(90)]


@pytest.fixture(scope="module")
def cluster():
    with ProcessCluster(ps=1, worker=2, env=ENV, dashboard=True, gpus={"worker-1": 1}) as c:
        yield c


def linear_regression(ps="/job:ps/task:0", worker="/job:worker/task:0"):
    """The tutorial's linear regression, variables on ``ps``, the loss on ``worker``."""
    tf.reset_default_graph()
    tf.set_random_seed(3)
    x_data = np.random.default_rng(0).random(100).astype(np.float32)
    with tf.device(ps):
        w = tf.Variable(tf.random_uniform([1], -1.0, 1.0), name="W")
        b = tf.Variable(tf.zeros([1]), name="b")
        step = tf.train.get_or_create_global_step()
    with tf.device(worker):
        loss = tf.reduce_mean(tf.square(w * x_data + b - (x_data * 0.1 + 0.3)))
    train = tf.train.GradientDescentOptimizer(0.5).minimize(loss, global_step=step)
    return w, b, loss, train, step


def run_steps(sess, parts, n):
    w, b, loss, train, _ = parts
    sess.run(tf.global_variables_initializer())
    for _ in range(n):
        sess.run(train)
    return sess.run([w, b, loss])


def local_reference(fn, *args):
    with tf.Session() as sess:
        return fn(sess, *args)


def test_linear_regression_matches_local(cluster):
    parts = linear_regression()
    want = local_reference(run_steps, parts, 30)
    with tf.Session(cluster.target, config=QUICK) as sess:
        got = run_steps(sess, parts, 30)
        # the variables live on ps-0 (readers may hold copies), as futures the session holds
        assert set(sess._vars) >= {"W", "b", "global_step"}
        who = sess.client.who_has(list(sess._vars.values()))
        ps_addr = [a for a, w in sess.client.scheduler_info()["workers"].items() if w["name"] == "ps-0"]
        assert all(ps_addr[0] in v for v in who.values())
    for g, r in zip(got, want):
        np.testing.assert_array_equal(g, r)
    assert got[2] < 1e-3


def test_targets_client_and_server(cluster):
    from distributed import Client

    parts = linear_regression()
    want = local_reference(run_steps, parts, 5)
    with Client(cluster.target, set_as_default=False) as client:
        with tf.Session(target=client, config=QUICK) as sess:
            np.testing.assert_array_equal(run_steps(sess, parts, 5)[0], want[0])
        assert client.status == "running"  # a borrowed client stays open
    host = cluster.target.split("://")[1]
    spec = tf.train.ClusterSpec({"scheduler": [host], "worker": ["127.0.0.1:0", "127.0.0.1:0", "127.0.0.1:0"]})
    server = tf.train.Server(spec, job_name="worker", task_index=2)  # a third worker process, worker-2
    try:
        cluster.wait_for_workers(["worker-2"])
        parts = linear_regression(worker="/job:worker/task:2")
        with tf.Session(server.target, config=QUICK) as sess:
            got = run_steps(sess, parts, 5)
            assert sess.sess_str == cluster.target
        np.testing.assert_array_equal(got[0], want[0])
    finally:
        server.stop()


def test_mlp_towers_match_local_and_task_stream_names_ops(cluster):
    import distributed_towers as towers

    data = towers.make_data(n=512)

    def go(sess):
        parts = towers.build(2)
        sess.run(tf.global_variables_initializer())
        return towers.train(sess, parts, data, 6), sess.run(tf.trainable_variables())

    tf.reset_default_graph()
    want_losses, want_vars = local_reference(go)
    tf.reset_default_graph()
    with tf.Session(cluster.target, config=QUICK) as sess:
        sess.client.get_task_stream()  # start recording
        got_losses, got_vars = go(sess)
        stream = sess.client.get_task_stream()
        assert sess.dashboard_link.startswith("http://")
    np.testing.assert_allclose(got_losses, want_losses, rtol=1e-6)
    for g, r in zip(got_vars, want_vars):
        np.testing.assert_allclose(g, r, rtol=1e-6, atol=1e-7)
    from dask.utils import key_split

    prefixes = {key_split(t["key"]) for t in stream}
    workers_of = {}
    for t in stream:
        workers_of.setdefault(key_split(t["key"]), set()).add(t["worker"])
    # segments are named after their last op: the towers' gradients, the ps's update
    assert any(p.startswith("tower_0/gradients/") for p in prefixes), prefixes
    assert any(p.startswith("tower_1/gradients/") for p in prefixes), prefixes
    assert "GradientDescent" in prefixes
    towers0 = [p for p in prefixes if p.startswith("tower_0/gradients/")]
    towers1 = [p for p in prefixes if p.startswith("tower_1/gradients/")]
    assert workers_of[towers0[0]] != workers_of[towers1[0]]  # the towers ran on different workers


def _read_shard(path):
    import fsspec

    path = np.asarray(path).item()
    with fsspec.open(path.decode() if isinstance(path, bytes) else path, "rb") as f:
        return np.load(f)


def test_input_read_on_the_worker(cluster):
    """A py_func on worker-0 reads a shard from worker-0's own memory:// filesystem: the client has no such
    file, and only the reduced value comes back."""
    import fsspec
    from distributed import Client

    data = np.arange(1000, dtype=np.float32).reshape(100, 10)

    def write_shard():
        import io

        import fsspec

        buf = io.BytesIO()
        np.save(buf, data)
        with fsspec.open("memory://shards/part-0.npy", "wb") as f:
            f.write(buf.getvalue())

    with Client(cluster.target, set_as_default=False) as client:
        client.run(write_shard, workers=[a for a, w in client.scheduler_info()["workers"].items()
                                          if w["name"] == "worker-0"])
    assert not fsspec.filesystem("memory").exists("shards/part-0.npy")
    with tf.device("/job:worker/task:0"):
        rows = tf.py_func(_read_shard, [tf.constant("memory://shards/part-0.npy")], tf.float32)
        total = tf.reduce_sum(rows, axis=0)
    with tf.Session(cluster.target, config=QUICK) as sess:
        np.testing.assert_array_equal(sess.run(total), data.sum(axis=0))
        with pytest.raises(tf.errors.UnknownError):  # on the client the file does not exist
            with tf.Session() as local:
                local.run(total)


def test_errors_come_back_as_tf_classes(cluster):
    with tf.device("/job:ps/task:0"):
        v = tf.Variable(1.0, name="never_initialized")
    x = tf.placeholder(tf.float32)
    with tf.device("/job:worker/task:1"):
        y = v * x
    with tf.Session(cluster.target, config=QUICK) as sess:
        with pytest.raises(tf.errors.FailedPreconditionError, match="never_initialized"):
            sess.run(y, {x: 2.0})
        sess.run(v.initializer)
        assert sess.run(y, {x: 2.0}) == 2.0
        with pytest.raises(tf.errors.InvalidArgumentError):
            sess.run(y, {x: "a"})


def test_gpu_devices_go_to_workers_with_the_gpu_resource(cluster):
    x = tf.placeholder(tf.float32)
    with tf.device("/device:GPU:0"):
        y = tf.square(x, name="on_a_gpu_worker")
    with tf.device("/job:worker/task:0"):
        z = tf.add(y, 1.0, name="then_on_worker_0")  # a run of two segments: one update-graph, a layer each
    # the worker advertises a GPU resource but this machine has no GPU: soft placement runs the op on that
    # worker's CPU (without it, placement is TF's "Cannot assign a device" error)
    soft = tf.ConfigProto(operation_timeout_in_ms=30000, allow_soft_placement=True)
    with tf.Session(cluster.target, config=soft) as sess:
        assert "/job:worker/replica:0/task:1/device:GPU:0" in sess.list_devices()
        assert "/job:ps/replica:0/task:0/device:CPU:0" in sess.list_devices()
        sess.client.get_task_stream()
        for _ in range(3):
            assert sess.run(y, {x: 3.0}) == 9.0
            assert sess.run(z, {x: 3.0}) == 10.0
        plan = next(p for p in sess._plans.values() if any(sp.name == "then_on_worker_0" for sp in p.segs))
        assert [(sp.worker, sp.gpu) for sp in plan.segs if not sp.skip] == [(None, True), ("worker-0", False)]
        from dataflow.runtime.distributed import _run_counts

        counts = {plan.segs[i].name: c for per in sess.client.run(_run_counts, plan.key).values()
                  for i, c in per.items()}
        # a segment placed on a GPU never runs on the worker's event loop; a quick CPU one does after its first
        assert counts == {"on_a_gpu_worker": {"loop": 0, "thread": 3}, "then_on_worker_0": {"loop": 2, "thread": 1}}
        names = {a: w["name"] for a, w in sess.client.scheduler_info()["workers"].items()}
        deadline = time.monotonic() + 10  # the stream records completions, which may follow the run's events
        while time.monotonic() < deadline:
            stream = sess.client.get_task_stream()
            ran = {t["key"].split("-")[0]: names[t["worker"]] for t in stream}
            if sum(t["key"].startswith("on_a_gpu_worker") for t in stream) == 6 and "then_on_worker_0" in ran:
                break
            time.sleep(0.1)
    assert {names[t["worker"]] for t in stream if t["key"].startswith("on_a_gpu_worker")} == {"worker-1"}
    assert {names[t["worker"]] for t in stream if t["key"].startswith("then_on_worker_0")} == {"worker-0"}


def test_performance_report_around_training(cluster, tmp_path):
    from distributed import performance_report

    parts = linear_regression()
    with tf.Session(cluster.target, config=QUICK) as sess:
        with sess.client.as_current(), performance_report(filename=str(tmp_path / "report.html")):
            run_steps(sess, parts, 3)
    html = (tmp_path / "report.html").read_text()
    assert "GradientDescent" in html


def _train_with_checkpoints(sess, parts, total, every, ckpt, kill=None):
    """Train until the global step reaches ``total``, saving every ``every`` steps; returns steps run."""
    w, b, loss, train, step = parts
    sess.recover_from = ckpt
    sess.run(tf.global_variables_initializer())
    sess.save_variables(ckpt)
    runs = 0
    while sess.run(step) < total:
        sess.run(train)
        runs += 1
        s = sess.run(step)
        if s % every == 0:
            sess.save_variables(ckpt)
        if kill is not None and runs == kill[0]:
            kill[1]()
    return runs


def test_killed_ps_recovers_from_checkpoint(tmp_path):
    ckpt = str(tmp_path / "ckpt")
    parts = linear_regression()
    want = local_reference(run_steps, parts, 16)
    with ProcessCluster(ps=1, worker=1, env=ENV) as c:
        def kill_and_restart():
            c.kill_worker("ps-0")  # SIGKILL: W, b and global_step are lost with it
            c.start_worker("ps-0")

        with tf.Session(c.target, config=QUICK) as sess:
            runs = _train_with_checkpoints(sess, parts, 16, 5, ckpt, kill=(9, kill_and_restart))
            got = sess.run([parts[0], parts[1], parts[2]])
            assert sess.run(parts[4]) == 16
    assert 16 < runs <= 16 + 5  # the steps since the last checkpoint (5) were run again, no more
    for g, r in zip(got, want):
        np.testing.assert_allclose(g, r, rtol=1e-6)


def test_killed_ps_recovers_with_a_saver(tmp_path):
    """recover_from as a callable: tf.train.Saver's latest checkpoint restores the lost variables."""
    parts = linear_regression()
    w, b, loss, train, step = parts
    saver = tf.train.Saver()
    prefix = str(tmp_path / "model.ckpt")
    want = local_reference(run_steps, parts, 8)
    with ProcessCluster(ps=1, worker=1, env=ENV) as c:
        with tf.Session(c.target, config=QUICK) as sess:
            sess.recover_from = lambda s, lost: saver.restore(s, tf.train.latest_checkpoint(str(tmp_path)))
            sess.run(tf.global_variables_initializer())
            saver.save(sess, prefix, global_step=0)
            runs = 0
            while sess.run(step) < 8:
                sess.run(train)
                runs += 1
                if sess.run(step) % 3 == 0:
                    saver.save(sess, prefix, global_step=step)
                if runs == 5:  # after the save at step 3
                    c.kill_worker("ps-0")
                    c.start_worker("ps-0")
            got = sess.run([w, b, loss])
    assert runs == 8 + 2  # steps 4 and 5 ran again
    for g, r in zip(got, want):
        np.testing.assert_allclose(g, r, rtol=1e-6)


def test_lost_variables_without_checkpoint_is_a_clear_error():
    parts = linear_regression()
    with ProcessCluster(ps=1, worker=1, env=ENV) as c:
        with tf.Session(c.target, config=QUICK) as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(parts[3])
            c.kill_worker("ps-0")
            c.start_worker("ps-0")
            with pytest.raises(tf.errors.AbortedError, match=r"W.*lost.*ps-0.*recover_from"):
                for _ in range(50):  # the loss is noticed once the scheduler has seen the worker die
                    sess.run(parts[3])
            sess.run(tf.global_variables_initializer())  # re-initializing restores a working session
            sess.run(parts[3])


def test_dead_scheduler_is_unavailable_not_a_hang():
    parts = linear_regression()
    import time

    c = ProcessCluster(ps=1, worker=1, env=ENV)
    try:
        with tf.Session(c.target, config=QUICK) as sess:
            sess.run(tf.global_variables_initializer())
            c.scheduler.kill()
            c.scheduler.wait()
            t0 = time.monotonic()
            with pytest.raises(tf.errors.UnavailableError, match="scheduler"):
                sess.run(parts[3])
            assert time.monotonic() - t0 < 20  # noticed when the client loses the scheduler, not at the timeout
    finally:
        c.close()
    with pytest.raises(tf.errors.UnavailableError, match="Cannot reach"):
        tf.Session(c.target, config=tf.ConfigProto(operation_timeout_in_ms=1000))


def test_tls_cluster():
    parts = linear_regression()
    want = local_reference(run_steps, parts, 5)
    with ProcessCluster(ps=1, worker=1, tls=True, env=ENV) as c:
        assert c.target.startswith("tls://")
        with pytest.raises(tf.errors.UnauthenticatedError, match="dask_security"):
            tf.Session(c.target)
        config = tf.ConfigProto(operation_timeout_in_ms=30000, dask_security=c.security)
        with tf.Session(c.target, config=config) as sess:
            got = run_steps(sess, parts, 5)
    np.testing.assert_array_equal(got[0], want[0])


def test_towers_example_runs_on_an_in_process_cluster():
    import re
    import subprocess

    out = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "distributed_towers.py"), "", "40"],
                         capture_output=True, text=True, timeout=80, cwd=ROOT, env=dict(os.environ, **ENV))
    assert out.returncode == 0, out.stderr
    first, last = map(float, re.search(r"loss ([0-9.]+) -> ([0-9.]+)", out.stdout).groups())
    assert last < 0.8 * first, out.stdout


def test_local_server_and_progress_bar(capsys):
    server = tf.train.Server.create_local_server()
    try:
        x = tf.placeholder(tf.float32)
        with tf.device("/job:localhost/task:0"):
            y = x + 1.0
        config = tf.ConfigProto(operation_timeout_in_ms=30000, dask_progress=True)
        with tf.Session(server.target, config=config) as sess:
            assert sess.run(y, {x: 1.0}) == 2.0
        assert "100%" in capsys.readouterr().out  # distributed.progress's text bar
    finally:
        server.stop()


# ---- graph rewrites on cluster plans -----------------------------------------------------------------
def _rewrites(on: bool) -> tf.ConfigProto:
    rc = tf.RewriterConfig() if on else tf.RewriterConfig(disable_meta_optimizer=True)
    return tf.ConfigProto(operation_timeout_in_ms=30000, graph_options=tf.GraphOptions(rewrite_options=rc))


def _built_op_types(plan_keys, dask_worker=None):
    """Run on a worker: the op types of the segments of ``plan_keys`` it built (ran) there."""
    from dataflow.runtime import distributed as d

    return sorted({op.type for (key, i) in d._built if key in plan_keys
                   for op in d._plans[key]["segments"][i][1]})


def test_rewrites_on_and_off_give_the_same_training(cluster):
    parts = linear_regression()
    results, ran = {}, {}
    for on in (True, False):
        with tf.Session(cluster.target, config=_rewrites(on)) as sess:
            results[on] = run_steps(sess, parts, 20)
            ran[on] = sess.client.run(_built_op_types, list(sess._plan_keys), workers=[
                a for a, w in sess.client.scheduler_info()["workers"].items() if w["name"] == "worker-0"])
    for g, r in zip(results[True], results[False]):
        np.testing.assert_allclose(g, r, rtol=1e-6)
    # the loss's elementwise chain (w * x + b - y, squared, and its gradient) ran fused on worker-0
    (on_types,), (off_types,) = ran[True].values(), ran[False].values()
    assert "FusedElementwise" in on_types and "FusedElementwise" not in off_types, (on_types, off_types)


def test_mlp_towers_with_and_without_rewrites(cluster):
    import distributed_towers as towers

    data = towers.make_data(n=256)
    got = {}
    for on in (True, False):
        tf.reset_default_graph()
        with tf.Session(cluster.target, config=_rewrites(on)) as sess:
            parts = towers.build(2)
            sess.run(tf.global_variables_initializer())
            got[on] = towers.train(sess, parts, data, 4), sess.run(tf.trainable_variables())
    np.testing.assert_allclose(got[True][0], got[False][0], rtol=1e-5)
    for a, b in zip(got[True][1], got[False][1]):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_a_one_variable_update_is_one_task_and_the_stream_is_not_batched_10ms(cluster):
    tf.reset_default_graph()
    with tf.device("/job:ps/task:0"):
        v = tf.Variable(0.0, name="counter")
        inc = tf.assign_add(v, 1.0)
    with tf.Session(cluster.target, config=QUICK) as sess:
        sess.run(v.initializer)
        for _ in range(3):
            sess.run(inc.op)
        # the segment's own result is the new value: no getitem task (whose key starts with the name)
        future, index = sess._vars["counter"]
        assert index is None and not future.key.startswith("counter-"), future.key
        assert sess.run(v) == 3.0 and sess.run(inc) == 4.0
        assert sess.client.scheduler_comm.interval <= 0.001  # Dask's default is 10 ms
