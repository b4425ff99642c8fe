"""tf.IndexedSlices: the sparse gradient of a lookup in a variable, applied by the optimizers with TF's
sparse updates (golden values from TensorFlow), touching only the looked-up rows."""

import os
import warnings
import weakref

import numpy as np
import pytest

import dataflow as tf

from golden.surface_cases import SPARSE_OPTIMIZERS

GOLDEN = np.load(os.path.join(os.path.dirname(__file__), "golden", "surface.npz"))


def _lookup_loss(emb, ids):
    return tf.reduce_sum(tf.square(tf.nn.embedding_lookup(emb, ids) - 0.5) * [[1.0], [2.0], [3.0]])


@pytest.mark.parametrize("key", sorted(SPARSE_OPTIMIZERS))
def test_sparse_updates_match_tensorflow(key):
    cls, kwargs = SPARSE_OPTIMIZERS[key]
    emb = tf.Variable(GOLDEN["sparse/init"], name="emb")
    loss = _lookup_loss(emb, GOLDEN["sparse/ids"])
    step = getattr(tf.train, cls)(**kwargs).minimize(loss)
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        for _ in range(3):
            s.run(step)
        np.testing.assert_allclose(s.run(emb), GOLDEN[f"sparse/{key}"], rtol=1e-5, atol=1e-6)


def test_gradients_return_indexed_slices_and_fetch_as_values():
    emb = tf.Variable(np.arange(12, dtype=np.float32).reshape(6, 2))
    ids = tf.constant([[4, 1], [4, 0]])
    g = tf.gradients(tf.reduce_sum(tf.nn.embedding_lookup(emb, ids)), emb)[0]
    assert isinstance(g, tf.IndexedSlices) and g.dtype is tf.float32
    assert g.values.shape.as_list() == [4, 2] and g.get_shape().as_list() == [6, 2]
    with tf.Session() as s:
        s.run(emb.initializer)
        v = s.run(g)
        assert isinstance(v, tf.IndexedSlicesValue)
        assert v.indices.tolist() == [4, 1, 4, 0] and v.dense_shape.tolist() == [6, 2]
        np.testing.assert_array_equal(v.values, np.ones((4, 2)))
        dense = s.run(tf.convert_to_tensor(g))
    np.testing.assert_array_equal(dense, [[1, 1], [1, 1], [0, 0], [0, 0], [2, 2], [0, 0]])


def test_gradients_of_several_paths_sum_as_tf():
    emb = tf.Variable(tf.ones([5, 2]))
    a = tf.nn.embedding_lookup(emb, [1])
    b = tf.nn.embedding_lookup(emb, [1, 2])
    sparse = tf.gradients(tf.reduce_sum(a) + tf.reduce_sum(b), emb)[0]
    assert isinstance(sparse, tf.IndexedSlices)  # slices only: concatenated, still sparse
    mixed = tf.gradients(tf.reduce_sum(a) + tf.reduce_sum(emb * 2.0), emb)[0]
    assert isinstance(mixed, tf.Tensor)  # with a dense path: densified and added
    with tf.Session() as s:
        s.run(emb.initializer)
        np.testing.assert_array_equal(s.run(tf.convert_to_tensor(sparse))[:3], [[0, 0], [2, 2], [1, 1]])
        np.testing.assert_array_equal(s.run(mixed)[:2], [[2, 2], [3, 3]])


def test_densifying_warns_as_tf(monkeypatch):
    from dataflow.framework import indexed_slices

    emb = tf.Variable(tf.ones([50, 2]))
    g = tf.gradients(tf.reduce_sum(tf.gather(emb, [1])), emb)[0]
    monkeypatch.setattr(indexed_slices, "LARGE_SPARSE_NUM_ELEMENTS", 100)
    with pytest.warns(UserWarning, match="dense Tensor with 100 elements"):
        tf.convert_to_tensor(g)
    unknown = tf.IndexedSlices(g.values, g.indices, tf.placeholder(tf.int32, [2]))
    with pytest.warns(UserWarning, match="unknown shape"):
        tf.convert_to_tensor(unknown)
    monkeypatch.setattr(indexed_slices, "LARGE_SPARSE_NUM_ELEMENTS", 10**8)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tf.convert_to_tensor(g)


@pytest.mark.parametrize("make", [lambda: tf.train.GradientDescentOptimizer(0.5),
                                  lambda: tf.train.MomentumOptimizer(0.5, 0.9),
                                  lambda: tf.train.AdagradOptimizer(0.5)])
def test_sparse_updates_touch_only_the_rows_in_place(make):
    """A large embedding: the update writes the looked-up rows into the variable's own array (no dense
    gradient, no copy); every other row keeps its bits."""
    rows = 200_000
    emb = tf.Variable(tf.random_uniform([rows, 16], seed=1))
    ids = tf.placeholder(tf.int32, [None])
    step = make().minimize(_lookup_loss(emb, ids))
    assert not any(op.type in ("UnsortedSegmentSum", "ApplyGradientDescent", "ApplyMomentum", "ApplyAdagrad")
                   and op.outputs and op.outputs[0].shape.as_list()[:1] == [rows]
                   for op in tf.get_default_graph().get_operations())
    with tf.Session() as s:
        s.run(tf.global_variables_initializer())
        before = s.run(emb)
        slot = s._state.slots[emb.op.name]
        s.run(step, {ids: [5, 9, 5]})
        storage = weakref.ref(slot.value)  # a weak reference: the update may still own the array
        s.run(step, {ids: [5, 9, 5]})
        assert slot.value is storage()  # updated in place: nothing dense was made
        after = s.run(emb)
    changed = np.flatnonzero(np.any(after != before, axis=1))
    assert changed.tolist() == [5, 9]


def test_scatter_ops():
    v = tf.Variable([[1.0, 1.0], [2.0, 2.0], [3.0, 3.0]])
    with tf.Session() as s:
        s.run(v.initializer)
        fetched = s.run(v)
        np.testing.assert_array_equal(s.run(tf.scatter_add(v, [0, 0], [[1.0, 1.0], [2.0, 2.0]]))[0], [4, 4])
        np.testing.assert_array_equal(s.run(tf.scatter_sub(v, [2], [[1.0, 0.5]]))[2], [2, 2.5])
        np.testing.assert_array_equal(s.run(tf.scatter_update(v, [1], [[9.0, 8.0]]))[1], [9, 8])
        np.testing.assert_array_equal(fetched, [[1, 1], [2, 2], [3, 3]])  # a fetched value never changes
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"not in \[0, 3\)"):
            s.run(tf.scatter_add(v, [3], [[1.0, 1.0]]))


def test_clip_by_global_norm_keeps_slices_sparse_as_tf():
    emb = tf.Variable(GOLDEN["sparse/init"])
    grad = tf.gradients(_lookup_loss(emb, GOLDEN["sparse/ids"]), emb)[0]
    (clipped,), norm = tf.clip_by_global_norm([grad], 1.0)
    assert isinstance(clipped, tf.IndexedSlices)
    with tf.Session() as s:
        s.run(emb.initializer)
        values, n = s.run([clipped.values, norm])
    np.testing.assert_allclose(values, GOLDEN["sparse/clipped"], rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(n, GOLDEN["sparse/norm"], rtol=1e-6)
