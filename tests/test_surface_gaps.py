"""Issue 13: TF1 surface gaps found by running real TF1 programs (bugs and missing aliases), checked
against TensorFlow's behaviour (golden values from ``tests/golden/make_surface_golden.py``)."""

import os

import numpy as np
import pytest

import dataflow as tf
from golden.surface_cases import ema_run

GOLDEN = np.load(os.path.join(os.path.dirname(__file__), "golden", "surface.npz"))


@pytest.mark.parametrize("make_flag", [lambda: tf.placeholder(tf.bool), lambda: tf.placeholder(tf.bool, [])])
def test_dropout_and_batch_norm_keep_static_shape_under_a_bool_placeholder(make_flag):
    training = make_flag()
    x = tf.placeholder(tf.float32, [None, 8, 8, 3])
    d = tf.layers.dropout(x, rate=0.5, training=training)
    b = tf.layers.batch_normalization(d, training=training)
    assert d.shape.as_list() == [None, 8, 8, 3] and b.shape.as_list() == [None, 8, 8, 3]
    y = tf.layers.dense(tf.layers.flatten(tf.layers.conv2d(b, 2, 3)), 4)  # needs the static shape
    xv = np.random.default_rng(0).standard_normal((2, 8, 8, 3)).astype(np.float32)
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        assert s.run(y, {x: xv, training: True}).shape == (2, 4)
        np.testing.assert_array_equal(s.run(d, {x: xv, training: False}), xv)
        kept = s.run(d, {x: xv, training: True})
        assert set(np.unique(np.round(kept / np.where(xv == 0, 1, xv), 4))) <= {0.0, 2.0}


def test_softmax_xent_broadcasts_labels_as_tf():
    labels, logits = GOLDEN["xent/labels"], GOLDEN["xent/logits"]
    lab, lg = tf.constant(labels), tf.constant(logits)
    cost = tf.nn.softmax_cross_entropy_with_logits_v2(labels=lab, logits=lg)
    assert cost.shape.as_list() == [3]
    g_lab, g_lg = tf.gradients(cost, [lab, lg])
    with tf.Session() as s:
        c, a, b = s.run([cost, g_lab, g_lg])
    np.testing.assert_allclose(c, GOLDEN["xent/cost"], rtol=1e-5)
    np.testing.assert_allclose(a, GOLDEN["xent/d_labels"], rtol=1e-5)
    np.testing.assert_allclose(b, GOLDEN["xent/d_logits"], rtol=1e-5, atol=1e-6)
    # TF's static shapes: rank-1 labels row against a matrix, and unknown dimensions
    one_row = tf.nn.softmax_cross_entropy_with_logits(labels=tf.placeholder(tf.float32, [1, 7]), logits=lg)
    assert one_row.shape.as_list() == [3]
    c3 = tf.nn.softmax_cross_entropy_with_logits_v2(labels=tf.placeholder(tf.float32, [None, 7]),
                                                    logits=tf.placeholder(tf.float32, [2, None, 7]))
    assert c3.shape.as_list() == [2, None]


def test_convert_to_tensor_packs_lists_of_tensors():
    t = tf.constant([1.0, 2.0])
    packed = tf.stop_gradient([t])
    assert packed.shape.as_list() == [1, 2]
    mixed = tf.convert_to_tensor([[t[0], 3.0], [4, t[1]]])
    v = tf.Variable(5.0)
    with tf.Session() as s:
        s.run(v.initializer)
        np.testing.assert_array_equal(s.run(packed), [[1.0, 2.0]])
        np.testing.assert_array_equal(s.run(mixed), [[1.0, 3.0], [4.0, 2.0]])
        assert s.run(tf.convert_to_tensor([v, 1.0])).tolist() == [5.0, 1.0]


def test_gradient_override_map_with_a_builtin_op_type():
    x = tf.constant([0.4, 2.6])
    with tf.get_default_graph().gradient_override_map({"Round": "Identity"}):
        r = tf.round(x * 3.0)
    g_st = tf.gradients(r, x)[0]  # the straight-through estimator
    with tf.Session() as s:
        np.testing.assert_allclose(s.run(g_st), [3.0, 3.0])
    with tf.get_default_graph().gradient_override_map({"Round": "NoSuchOpType"}):
        bad = tf.round(x)
    with pytest.raises(LookupError):
        tf.gradients(bad, x)


def test_dtype_enums():
    assert tf.as_dtype(1) is tf.float32 and tf.as_dtype(3) is tf.int32 and tf.as_dtype(9) is tf.int64
    assert tf.as_dtype(101) is tf.float32  # float32_ref
    assert tf.float64.as_datatype_enum == 2 and tf.bool.as_datatype_enum == 10
    assert tf.placeholder(1, [2]).dtype is tf.float32
    assert tf.zeros([2], dtype=3).dtype is tf.int32
    with pytest.raises(TypeError):
        tf.as_dtype(99)


def test_aliases_and_string_to_number():
    x = tf.constant([[1.0, 5.0], [7.0, 2.0]])
    with tf.Session() as s:
        assert s.run(tf.arg_max(x, 1)).tolist() == [1, 0]
        assert s.run(tf.arg_min(x, 0)).tolist() == [0, 1]
        np.testing.assert_array_equal(s.run(tf.string_to_number(["1.5", " -2", "1e3"])), [1.5, -2.0, 1000.0])
        assert s.run(tf.string_to_number(["42"], out_type=tf.int64)).dtype == np.int64
        with pytest.raises(tf.errors.InvalidArgumentError, match="could not correctly convert string: x"):
            s.run(tf.string_to_number(["1", "x"]))


def test_make_callable_and_prevent_feeding():
    a = tf.placeholder(tf.float32, [])
    b = tf.placeholder(tf.float32, [])
    with tf.Session() as s:
        f = s.make_callable([a + b, a * b], [a, b])
        assert [float(v) for v in f(2.0, 3.0)] == [5.0, 6.0]
        g = s.make_callable(a * 2, [a], accept_options=True)
        assert float(g(4.0, options=tf.RunOptions())) == 8.0
        c = tf.constant(1.0)
        assert s.graph.is_feedable(c)
        s.graph.prevent_feeding(c)
        assert not s.graph.is_feedable(c)
        with pytest.raises(ValueError, match="may not be fed"):
            s.run(c * 2, {c: 3.0})


@pytest.mark.parametrize("fn", ["floordiv", "floormod", "truncatediv", "truncatemod", "div", "mod"])
def test_integer_division_by_zero_is_invalid_argument(fn):
    z = tf.placeholder(tf.int32, [2])
    y = getattr(tf, fn)(tf.constant([1, 2]), z)
    with tf.Session() as s:
        with pytest.raises(tf.errors.InvalidArgumentError, match="Integer division by zero"):
            s.run(y, {z: [0, 1]})
        assert s.run(y, {z: [1, 1]}).tolist() == ([1, 2] if fn.endswith("div") else [0, 0])
    with tf.Session() as s:  # floats divide as IEEE says
        assert np.isinf(s.run(tf.floordiv(1.0, tf.constant(0.0))))


def test_truncated_division_rounds_toward_zero():
    with tf.Session() as s:
        assert s.run(tf.truncatediv([-7, 7, -6], [2, -2, 3])).tolist() == [-3, -3, -2]
        assert s.run(tf.truncatemod([-7, 7, -6], [2, -2, 3])).tolist() == [-1, 1, 0]


def test_reductions_over_empty_axes_are_tf_identities():
    e = tf.zeros([0, 3])
    with tf.Session() as s:
        assert s.run(tf.reduce_max(e, axis=0)).tolist() == [-np.inf] * 3
        assert s.run(tf.reduce_min(e, axis=0)).tolist() == [np.inf] * 3
        assert s.run(tf.reduce_max(tf.zeros([2, 0], tf.int32), axis=1)).tolist() == [np.iinfo(np.int32).min] * 2
        assert s.run(tf.reduce_sum(e, axis=0)).tolist() == [0.0] * 3


def test_feeds_of_numeric_strings_and_object_arrays():
    x = tf.placeholder(tf.float32, [2])
    n = tf.placeholder(tf.int32, [2])
    with tf.Session() as s:
        np.testing.assert_array_equal(s.run(x, {x: ["1", "2.5"]}), [1.0, 2.5])
        np.testing.assert_array_equal(s.run(x, {x: np.array(["1", "2.5"])}), [1.0, 2.5])
        np.testing.assert_array_equal(s.run(x, {x: np.array([1, 2.5], dtype=object)}), [1.0, 2.5])
        assert s.run(n, {n: np.array([3, 4], dtype=object)}).tolist() == [3, 4]
        with pytest.raises(ValueError):
            s.run(x, {x: ["1", "abc"]})


@pytest.mark.parametrize("padding", ["same", "valid"])
def test_conv2d_transpose_layer_matches_tensorflow(padding):
    x = GOLDEN["deconv/x"]
    y = tf.layers.conv2d_transpose(tf.constant(x), 6, (3, 2), strides=(2, 3), padding=padding)
    assert [v.op.name for v in tf.trainable_variables()] == ["conv2d_transpose/kernel", "conv2d_transpose/bias"]
    assert y.shape.as_list() == list(GOLDEN[f"deconv/{padding}/y"].shape)
    kernel, bias = tf.trainable_variables()
    with tf.Session() as s:
        s.run([kernel.assign(GOLDEN[f"deconv/{padding}/kernel"]), bias.assign(GOLDEN[f"deconv/{padding}/bias"])])
        np.testing.assert_allclose(s.run(y), GOLDEN[f"deconv/{padding}/y"], rtol=1e-4, atol=1e-5)
    layer = tf.layers.Conv2DTranspose(4, 3, strides=2, padding=padding)
    unknown = layer(tf.placeholder(tf.float32, [None, None, None, 3]))
    assert unknown.shape.as_list() == [None, None, None, 4]
    with tf.Session() as s:
        s.run(tf.variables_initializer(layer.variables))
        out = s.run(unknown, {"Placeholder:0": np.ones((1, 5, 4, 3), np.float32)})
    assert out.shape == ((1, 10, 8, 4) if padding == "same" else (1, 11, 9, 4))  # + (kernel - stride) if valid


def test_batch_norm_with_global_normalization():
    m, v, beta, gamma = GOLDEN["bngn/params"]
    with tf.Session() as s:
        for scale in (True, False):
            y = tf.nn.batch_norm_with_global_normalization(GOLDEN["deconv/x"], m, v, beta, gamma, 0.001, scale)
            np.testing.assert_allclose(s.run(y), GOLDEN[f"bngn/{scale}"], rtol=1e-5, atol=1e-6)


def test_exponential_moving_average_matches_tensorflow():
    values, (v, w, step), ema = ema_run(tf, tf.Session)
    np.testing.assert_allclose(values, GOLDEN["ema/values"], rtol=1e-6)
    assert [ema.average_name(v), ema.average(w).op.name] == GOLDEN["ema/names"].tolist()
    restore = ema.variables_to_restore()
    assert restore["v/ExponentialMovingAverage"] is v and restore["step"] is step
