"""ClusterSpec's API, device strings -> Dask worker names, and how a distributed plan is cut (no cluster)."""

import numpy as np
import pytest

import dataflow as tf
from dataflow.runtime.distributed import assign_tasks, segment_tasks, task_of
from dataflow.runtime.plan import prune


def test_cluster_spec_api():
    spec = tf.train.ClusterSpec({"ps": ["h0:2222"], "worker": ["h1:2222", "h2:2222"]})
    assert spec.jobs == ["ps", "worker"]
    assert spec.num_tasks("worker") == 2
    assert spec.task_indices("worker") == [0, 1]
    assert spec.task_address("worker", 1) == "h2:2222"
    assert spec.as_dict() == {"ps": ["h0:2222"], "worker": ["h1:2222", "h2:2222"]}
    assert spec.worker_names() == ["ps-0", "worker-0", "worker-1"]
    assert tf.train.ClusterSpec(spec) == spec and bool(spec)
    sparse = tf.train.ClusterSpec({"worker": {1: "h1:1", 3: "h3:1"}})
    assert sparse.as_dict() == {"worker": {1: "h1:1", 3: "h3:1"}}
    assert sparse.job_tasks("worker") == [None, "h1:1", None, "h3:1"]
    with pytest.raises(ValueError, match="No such job in cluster: 'chief'"):
        spec.num_tasks("chief")
    with pytest.raises(ValueError, match="No task with index 5 in job 'worker'"):
        spec.task_address("worker", 5)
    with pytest.raises(TypeError):
        tf.train.ClusterSpec(["h0:1"])


def test_server_needs_a_scheduler_and_names_its_worker():
    spec = tf.train.ClusterSpec({"scheduler": ["127.0.0.1:8786"], "worker": ["127.0.0.1:9001"]})
    server = tf.train.Server(spec, job_name="worker", task_index=0, start=False)
    assert server.target == "tcp://127.0.0.1:8786"
    args = server._args()
    assert args[args.index("--name") + 1] == "worker-0"
    assert args[args.index("--worker-port") + 1] == "9001"
    with pytest.raises(ValueError, match="scheduler"):
        tf.train.Server({"worker": ["127.0.0.1:9001"]}, "worker", 0, start=False)


def test_device_strings_name_workers():
    assert task_of("/job:ps/task:0") == ("ps-0", False)
    assert task_of("/job:worker/task:1/device:GPU:0") == ("worker-1", True)
    assert task_of("/job:worker") == ("worker-0", False)
    assert task_of("") == (None, False)
    assert task_of("/device:GPU:0") == (None, True)


def test_plan_cut_by_task_keeps_variables_and_towers_in_place():
    x = np.ones((4, 3), np.float32)
    with tf.device("/job:ps/task:0"):
        w = tf.Variable(tf.ones([3, 2]), name="w")
    losses = []
    for i in range(2):
        with tf.device(f"/job:worker/task:{i}"):
            losses.append(tf.reduce_sum(tf.nn.relu(tf.matmul(x, w))))
    train = tf.train.GradientDescentOptimizer(0.1).minimize(tf.add_n(losses))  # gradients have no device
    ops = prune([], [train], set())
    where = assign_tasks(ops)
    g = tf.get_default_graph()
    assert where[g.get_operation_by_name("w/read")] == ("ps-0", False)  # reads and updates go with the variable
    apply_op = [op for op in ops if op.type == "ApplyGradientDescent"][0]
    assert where[apply_op] == ("ps-0", False)
    grads = [op for op in ops if op.name.startswith("gradients/MatMul") and op.type == "MatMul"]
    assert {where[op][0] for op in grads} == {"worker-0", "worker-1"}  # each tower's gradient on its worker
    segs = segment_tasks(ops, where, [train])
    for s in segs:
        assert len({where[op] for op in s.ops if op.type != "VariableV2"}) <= 1
        # a segment using the variable carries its VariableV2 op (to bind a slot there)
        if any(t.op.type == "VariableV2" for op in s.ops for t in op._inputs):
            assert s.ops[0].type == "VariableV2"
    order = {op: i for i, s in enumerate(segs) for op in s.ops if op.type != "VariableV2"}
    for op, i in order.items():  # segments form a DAG in list order
        assert all(order.get(t.op, -1) <= i for t in op._inputs)


def test_bad_targets():
    with pytest.raises(TypeError, match="target"):
        tf.Session(target=3.5)
    with pytest.raises(tf.errors.UnauthenticatedError, match="dask_security"):
        tf.Session("tls://127.0.0.1:1")
    with pytest.raises(tf.errors.UnavailableError):  # a cluster InteractiveSession, its scheduler unreachable
        tf.InteractiveSession("tcp://127.0.0.1:1", config=tf.ConfigProto(operation_timeout_in_ms=2000))
    assert tf.get_default_session() is None
