"""Reductions, argmax/argmin, cumsum, matmul."""

import numpy as np

import dataflow as tf
from opspec import OpSpec, distinct_inputs, normal_inputs


_f = normal_inputs


def _exclusive_cumsum(x, axis):
    """The sum of the elements before each one (a leading 0), without subtracting x."""
    head = np.zeros_like(np.take(x, [0], axis=axis))
    return np.concatenate([head, np.cumsum(np.take(x, np.arange(x.shape[axis] - 1), axis=axis), axis=axis)],
                          axis=axis)


SPECS = []
for name, fn, ref, gen in [("sum", tf.reduce_sum, np.sum, _f((3, 4, 5))),
                           ("mean", tf.reduce_mean, np.mean, _f((3, 4, 5))),
                           ("max", tf.reduce_max, np.max, distinct_inputs((3, 4, 5))),
                           ("min", tf.reduce_min, np.min, distinct_inputs((3, 4, 5))),
                           ("prod", tf.reduce_prod, np.prod, lambda rng: [rng.uniform(0.5, 1.5, (3, 4, 2))
                                                                          .astype(np.float32)])]:
    for axis in [None, 0, 1, -1, (0, 2)]:
        for keep in (False, True):
            SPECS.append(OpSpec(f"reduce_{name}_axis{axis}_keep{keep}",
                                lambda x, fn=fn, axis=axis, keep=keep: fn(x, axis=axis, keepdims=keep),
                                lambda x, ref=ref, axis=axis, keep=keep: ref(x, axis=axis, keepdims=keep),
                                gen))
SPECS += [
    OpSpec("reduce_sum_unknown_shape", lambda x: tf.reduce_sum(x, axis=1), lambda x: x.sum(axis=1),
           _f((3, 4)), static_shape=False),
    OpSpec("reduce_mean_unknown_shape_all", lambda x: tf.reduce_mean(x), lambda x: x.mean(), _f((3, 4)),
           static_shape=False),
    # unknown rank: the gradient puts the reduced axes back without knowing where the end is
    OpSpec("reduce_sum_unknown_rank_negative_axes", lambda x: tf.reduce_sum(x, axis=[-2, -1]),
           lambda x: x.sum(axis=(-2, -1)), _f((2, 3, 4, 5)), static_shape=False),
    OpSpec("reduce_max_unknown_rank_negative_axes", lambda x: tf.reduce_max(x, axis=[-1, -3]),
           lambda x: x.max(axis=(-1, -3)), distinct_inputs((2, 3, 4, 5)), static_shape=False),
    OpSpec("reduce_mean_unknown_rank_mixed_axes", lambda x: tf.reduce_mean(x, axis=[2, -4]),
           lambda x: x.mean(axis=(2, -4)), _f((2, 3, 4, 5)), static_shape=False),
    OpSpec("reduce_prod_unknown_rank_mixed_axes", lambda x: tf.reduce_prod(x, axis=[0, -1]),
           lambda x: x.prod(axis=(0, -1)), lambda rng: [rng.uniform(0.5, 1.5, (2, 3, 4)).astype(np.float32)],
           static_shape=False),
    OpSpec("reduce_sum_reduction_indices_keep_dims", lambda x: tf.reduce_sum(x, reduction_indices=[1], keep_dims=True),
           lambda x: x.sum(axis=1, keepdims=True), _f((3, 4))),
    OpSpec("reduce_prod_with_zeros", lambda x: tf.reduce_prod(x, axis=1), lambda x: x.prod(axis=1),
           lambda rng: [np.array([[0.0, 2.0, 3.0], [0.0, 0.0, 2.0], [1.5, 2.0, -1.0]], np.float32)]),
    OpSpec("reduce_max_ties_split_gradient", lambda x: tf.reduce_max(x, axis=1), lambda x: x.max(axis=1),
           lambda rng: [np.array([[1.0, 3.0, 3.0], [2.0, 0.5, 0.1]], np.float32)], grad=False),
    OpSpec("reduce_any", lambda x: tf.reduce_any(x, axis=0), lambda x: x.any(axis=0),
           lambda rng: [rng.random((3, 4)) < 0.3], grad=False),
    OpSpec("reduce_all", lambda x: tf.reduce_all(x, axis=1, keepdims=True), lambda x: x.all(axis=1, keepdims=True),
           lambda rng: [rng.random((3, 4)) < 0.7], grad=False),
    OpSpec("reduce_mean_int_truncates", lambda x: tf.reduce_mean(x, axis=0),
           lambda x: np.trunc(x.sum(axis=0) / 3).astype(np.int32),
           lambda rng: [rng.integers(-10, 10, (3, 6)).astype(np.int32)], grad=False),
    OpSpec("reduce_mean_int_all_axes", lambda x: tf.reduce_mean(x), lambda x: np.int64(np.trunc(x.sum() / x.size)),
           lambda rng: [np.array([[-1, -2], [-4, 2]], np.int64)], grad=False),
    OpSpec("argmax", lambda x: tf.argmax(x, axis=1), lambda x: np.argmax(x, axis=1), distinct_inputs((3, 5)),
           grad=False),
    OpSpec("argmax_dimension_int32", lambda x: tf.argmax(x, dimension=0, output_type=tf.int32),
           lambda x: np.argmax(x, axis=0).astype(np.int32), distinct_inputs((3, 5)), grad=False),
    OpSpec("argmin", lambda x: tf.argmin(x, axis=-1), lambda x: np.argmin(x, axis=-1), distinct_inputs((4, 3)),
           grad=False),
    OpSpec("cumsum", lambda x: tf.cumsum(x, axis=1), lambda x: np.cumsum(x, axis=1), _f((3, 4))),
    OpSpec("cumsum_exclusive_reverse", lambda x: tf.cumsum(x, axis=0, exclusive=True, reverse=True),
           lambda x: np.flip(np.cumsum(np.flip(x, 0), 0), 0) - x, _f((4, 3)), rtol=1e-4, atol=1e-5),
    OpSpec("cumsum_exclusive", lambda x: tf.cumsum(x, axis=-1, exclusive=True),
           lambda x: _exclusive_cumsum(x, 1), _f((3, 4))),
    # inf must not turn into inf - inf = NaN, and 1 + 1e8 - 1e8 must not lose the 1
    OpSpec("cumsum_exclusive_inf_and_large", lambda x: tf.cumsum(x, axis=0, exclusive=True),
           lambda x: _exclusive_cumsum(x, 0),
           lambda rng: [np.array([[np.inf, 1.0], [1.0, 1e8], [2.0, 5.0]], np.float32)], grad=False, rtol=0, atol=0),
    OpSpec("matmul", tf.matmul, np.matmul, _f((3, 4), (4, 5))),
    OpSpec("matmul_transpose_a", lambda a, b: tf.matmul(a, b, transpose_a=True), lambda a, b: a.T @ b,
           _f((4, 3), (4, 5))),
    OpSpec("matmul_transpose_b", lambda a, b: tf.matmul(a, b, transpose_b=True), lambda a, b: a @ b.T,
           _f((3, 4), (5, 4))),
    OpSpec("matmul_transpose_both", lambda a, b: tf.matmul(a, b, transpose_a=True, transpose_b=True),
           lambda a, b: a.T @ b.T, _f((4, 3), (5, 4))),
    OpSpec("matmul_unknown_batch", tf.matmul, np.matmul, _f((3, 4), (4, 2)), static_shape=False),
    OpSpec("batch_matmul", tf.matmul, np.matmul, _f((2, 3, 4), (2, 4, 5))),
    OpSpec("batch_matmul_broadcast_adjoint", lambda a, b: tf.matmul(a, b, adjoint_b=True),
           lambda a, b: a @ np.swapaxes(b, -1, -2), _f((2, 3, 4), (5, 4))),
    OpSpec("matmul_operator", lambda a, b: a @ b, np.matmul, _f((2, 3), (3, 2))),
]
