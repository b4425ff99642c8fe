"""tf.train.export_meta_graph / import_meta_graph, tf.import_graph_def: our round trip and TensorFlow's
.meta files (tests/golden/gaps_oracle.py wrote tests/fixtures/tf_meta_graph/ with TF 2.21)."""

import json
import os

import numpy as np
import pytest

import dataflow as tf
from dataflow.ops.graph_compat import broadcast_gradient_args

FIX = os.path.join(os.path.dirname(__file__), "fixtures", "tf_meta_graph")
EXPECTED = json.load(open(os.path.join(FIX, "expected.json")))
X = np.array([[1.0, 2.0, 3.0], [0.5, -1.0, 2.0], [0.0, 1.0, -1.0], [2.0, 0.0, 1.0]], np.float32)
Y = np.array([[1.0], [0.0], [-1.0], [2.0]], np.float32)


def test_import_tf_written_meta_graph_restores_and_trains():
    prefix = os.path.join(FIX, "linear", "model.ckpt-3")
    with tf.Graph().as_default() as g:
        saver = tf.train.import_meta_graph(prefix + ".meta")
        assert sorted(g.get_all_collection_keys()) == ["global_step", "my_ops", "my_tensors", "train_op",
                                                       "trainable_variables", "variables"]
        assert [v.op.name for v in tf.trainable_variables()] == ["w", "b"]
        assert [v.op.name for v in tf.global_variables()] == ["w", "b", "global_step"]
        assert tf.get_collection("my_tensors") == [g.get_tensor_by_name("pred:0")]
        train_op = tf.get_collection("train_op")[0]
        assert train_op is g.get_operation_by_name("GradientDescent")
        with tf.Session() as sess:
            saver.restore(sess, prefix)
            np.testing.assert_allclose(sess.run("pred:0", {"x:0": X}), EXPECTED["linear_pred"], rtol=1e-6)
            np.testing.assert_allclose(sess.run("loss:0", {"x:0": X, "y:0": Y}), EXPECTED["linear_loss"], rtol=1e-6)
            sess.run(train_op, {"x:0": X, "y:0": Y})  # TF's own gradient graph (BroadcastGradientArgs...)
            np.testing.assert_allclose(sess.run("w:0"), EXPECTED["linear_w_after_step4"], rtol=1e-6)
            np.testing.assert_allclose(sess.run("b:0"), EXPECTED["linear_b_after_step4"], rtol=1e-5)
            assert sess.run(tf.train.get_global_step()) == 4
            # the initializers imported too
            sess.run(tf.global_variables_initializer())
            np.testing.assert_allclose(sess.run("w:0").ravel(), [0.1, -0.2, 0.3], rtol=1e-6)


def test_import_with_scope_and_unknown_op_type():
    prefix = os.path.join(FIX, "linear", "model.ckpt-3")
    with tf.Graph().as_default() as g:
        saver = tf.train.import_meta_graph(prefix + ".meta", import_scope="m")
        assert g.get_tensor_by_name("m/pred:0") is not None
        with tf.Session() as sess:
            saver.restore(sess, prefix)  # the checkpoint keys are w, b: without the scope, as in TF
            np.testing.assert_allclose(sess.run("m/pred:0", {"m/x:0": X}), EXPECTED["linear_pred"], rtol=1e-6)
    meta = tf.train.read_meta_graph_file(prefix + ".meta")
    meta.graph_def.node[0].op = "NoSuchOp"
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="op type 'NoSuchOp'"):
            tf.train.import_meta_graph(meta)


def _build_model():
    x = tf.placeholder(tf.float32, [None, 4, 4, 1], name="x")
    labels = tf.placeholder(tf.int64, [None], name="labels")
    with tf.variable_scope("net"):
        h = tf.layers.conv2d(x, 2, 3, padding="same", activation=tf.nn.relu)
        h = tf.layers.flatten(tf.nn.max_pool(h, [1, 2, 2, 1], [1, 2, 2, 1], "VALID"))
        logits = tf.layers.dense(h, 3, name="logits")
    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=labels, logits=logits),
                          name="loss")
    probs = tf.nn.softmax(logits, name="probs")
    gs = tf.train.get_or_create_global_step()
    train = tf.train.AdamOptimizer(0.01).minimize(loss, global_step=gs, name="train")
    tf.add_to_collection("outputs", probs)
    tf.add_to_collection("train_op", train)
    tf.add_to_collection("names", "hello")
    tf.add_to_collection("numbers", 3)
    return train


def test_round_trip_of_our_meta_graph(tmp_path):
    rng = np.random.RandomState(0)
    xs, ls = rng.randn(5, 4, 4, 1).astype(np.float32), np.array([0, 1, 2, 1, 0])
    with tf.Graph().as_default():
        tf.set_random_seed(1)
        train = _build_model()
        saver = tf.train.Saver()
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            sess.run(train, {"x:0": xs, "labels:0": ls})
            path = saver.save(sess, str(tmp_path / "model"), global_step=1)
            probs = sess.run("probs:0", {"x:0": xs})
            sess.run(train, {"x:0": xs, "labels:0": ls})
            after = sess.run("probs:0", {"x:0": xs})
    assert os.path.exists(path + ".meta")
    with tf.Graph().as_default() as g:
        saver = tf.train.import_meta_graph(path + ".meta")
        assert tf.get_collection("names") == ["hello"] and tf.get_collection("numbers") == [3]
        assert len(tf.trainable_variables()) == 4 and len(tf.global_variables()) == 4 + 1 + 8 + 2
        with tf.Session() as sess:
            saver.restore(sess, path)
            np.testing.assert_allclose(sess.run(tf.get_collection("outputs")[0], {"x:0": xs}), probs, rtol=1e-5)
            sess.run(tf.get_collection("train_op")[0], {"x:0": xs, "labels:0": ls})
            np.testing.assert_allclose(sess.run(g.get_tensor_by_name("probs:0"), {"x:0": xs}), after, rtol=1e-4)
            # more training ops can be built on the imported graph
            more = tf.train.GradientDescentOptimizer(0.1).minimize(g.get_tensor_by_name("loss:0"))
            sess.run(more, {"x:0": xs, "labels:0": ls})
            # and saved again, by the imported saver
            saver.save(sess, str(tmp_path / "again"))


def test_export_meta_graph_text_and_collections(tmp_path):
    with tf.Graph().as_default():
        v = tf.Variable([1.0, 2.0], name="v")
        total = tf.reduce_sum(v * 2.0, name="total")
        tf.add_to_collection("weird", object())  # not serializable: left out with a warning
        meta = tf.train.export_meta_graph(str(tmp_path / "g.pbtxt"), as_text=True)
    assert "weird" not in meta.collection_def
    assert list(meta.collection_def["variables"].bytes_list.value)
    with tf.Graph().as_default() as g:
        saver = tf.train.import_meta_graph(str(tmp_path / "g.pbtxt"))
        assert saver is not None
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            assert sess.run(g.get_tensor_by_name("total:0")) == 6.0
            assert g.get_operation_by_name("total").attrs == total.op.attrs


def test_import_graph_def_prefix_input_map_and_return_elements():
    with tf.Graph().as_default() as g1:
        a = tf.placeholder(tf.float32, [None], name="a")
        tf.reduce_max(tf.transpose(tf.reshape(a, [2, -1])) * 3.0, axis=None, name="y")
    gd = g1.as_graph_def()
    with tf.Graph().as_default():
        feed = tf.constant([1.0, 5.0, 2.0, 4.0])
        y, op = tf.import_graph_def(gd, input_map={"a": feed}, return_elements=["y:0", "y"])
        assert y.name == "import/y:0" and op.name == "import/y"
        assert tf.Session().run(y) == 15.0


def test_broadcast_gradient_args_matches_tf():
    # TF 2.21's outputs (gen_array_ops.broadcast_gradient_args)
    cases = [([1], [1], [], []), ([2, 3], [3], [], [0]), ([2, 1, 4], [3, 1], [1], [0, 2]),
             ([1, 1], [5, 1], [0, 1], [1]), ([], [2, 2], [0, 1], []), ([4], [4], [], [])]
    for s0, s1, r0, r1 in cases:
        got = broadcast_gradient_args(np.array(s0, np.int32), np.array(s1, np.int32))
        assert [g.tolist() for g in got] == [r0, r1], (s0, s1)
    with pytest.raises(tf.errors.InvalidArgumentError, match="Incompatible shapes"):
        broadcast_gradient_args([2, 3], [4])


def test_graphs_holding_python_objects_say_what_does_not_import():
    with tf.Graph().as_default():
        tf.while_loop(lambda i: i < 10, lambda i: i + 1, [tf.constant(0)])
        meta = tf.train.export_meta_graph()
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="op While.*loop and cond bodies"):
            tf.train.import_meta_graph(meta)


def test_tf2_resource_variables_are_named_in_the_error():
    meta = os.path.join(os.path.dirname(__file__), "fixtures", "tf_checkpoint", "model.ckpt-7.meta")
    with tf.Graph().as_default():
        with pytest.raises(ValueError, match="op type 'VarHandleOp'.*resource variables"):
            tf.train.import_meta_graph(meta)


def test_import_tf_cnn_with_tf_gradient_ops():
    """conv2d/BiasAdd/relu/max_pool/dense/tanh/softmax xent/Momentum, written by TF 2.21: TF's own gradient
    ops (BiasAddGrad, TanhGrad, ShapeN, ...) import as composites and train to TF's loss."""
    out = np.load(os.path.join(FIX, "cnn", "outputs.npz"))
    prefix = os.path.join(FIX, "cnn", "model.ckpt")
    with tf.Graph().as_default() as g:
        saver = tf.train.import_meta_graph(prefix + ".meta")
        feed = {"x:0": out["x"], "lab:0": out["labels"]}
        with tf.Session() as sess:
            saver.restore(sess, prefix)
            probs, loss, acc = sess.run(["probs:0", "loss:0", "acc:0"], feed)
            np.testing.assert_allclose(probs, out["probs"], rtol=1e-5, atol=1e-6)
            np.testing.assert_allclose(loss, out["loss"], rtol=1e-5)
            assert acc == out["acc"]
            train = g.get_operation_by_name("train")
            sess.run(train, feed)
            sess.run(train, feed)
            np.testing.assert_allclose(sess.run("loss:0", feed), out["loss_after_2_steps"], rtol=1e-5)


def test_composites_of_tf_ops_compute_tf_formulas():
    from dataflow.ops.graph_compat import COMPOSITES

    rng = np.random.RandomState(1)
    y, dy = rng.uniform(0.5, 2.0, (3, 4)).astype(np.float32), rng.randn(3, 4).astype(np.float32)
    x = rng.randn(2, 5).astype(np.float32)
    cases = {"TanhGrad": ([y, dy], dy * (1 - y * y)), "SigmoidGrad": ([y, dy], dy * y * (1 - y)),
             "RsqrtGrad": ([y, dy], dy * -0.5 * y ** 3), "SqrtGrad": ([y, dy], dy * 0.5 / y),
             "ReciprocalGrad": ([y, dy], -dy * y * y), "L2Loss": ([x], (x * x).sum() / 2),
             "ClipByValue": ([x, np.float32(-0.5), np.float32(0.5)], np.clip(x, -0.5, 0.5)),
             "LogSoftmax": ([x], x - np.log(np.exp(x).sum(1, keepdims=True))),
             "BiasAddGrad": ([y], y.sum(0)), "ShapeN": ([x, y], [np.array([2, 5]), np.array([3, 4])])}
    with tf.Graph().as_default(), tf.Session() as sess:
        for op_type, (inputs, want) in cases.items():
            got = sess.run(COMPOSITES[op_type]([tf.constant(v) for v in inputs], {}))
            got = got if op_type == "ShapeN" else got[0]
            np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6, err_msg=op_type)
        with pytest.raises(ValueError, match="NCHW"):
            COMPOSITES["BiasAdd"]([tf.constant(x), tf.constant(x[0])], {"data_format": "NCHW"})
