"""Sequences, segments and orderings: sequence_mask, count_nonzero, segment reductions, unique, linspace,
meshgrid, sort/argsort, cumprod, reduce_variance/reduce_std, invert_permutation, reverse_sequence.
Integer inputs (lengths, segment ids, counts) are fed, so the kernels' run-time paths are the ones checked."""

import numpy as np

import dataflow as tf
from opspec import OpSpec, distinct_inputs, normal_inputs


_f = normal_inputs


def _fi(shape, *ints):
    """A float input of ``shape`` followed by fixed int32 inputs."""
    return lambda rng: [rng.standard_normal(shape).astype(np.float32)] + [np.asarray(i, np.int32) for i in ints]


def _distinct_fi(shape, *ints):
    return lambda rng: distinct_inputs(shape)(rng) + [np.asarray(i, np.int32) for i in ints]


def _away_from_zero(shape):
    return lambda rng: [(rng.uniform(0.5, 1.5, shape) * rng.choice([-1, 1], shape)).astype(np.float32)]


def _segment_ref(fn, empty):
    def ref(data, ids, n=None):
        n = int(ids.max()) + 1 if n is None else int(n)
        out = np.full((n,) + data.shape[ids.ndim:], empty, data.dtype)
        for s in range(n):
            rows = data[ids == s]
            if len(rows):
                out[s] = fn(rows, axis=0)
        return out
    return ref


def _unique_ref(x):
    _, first = np.unique(x, return_index=True)
    y = x[np.sort(first)]
    return y, np.array([int(np.flatnonzero(y == v)[0]) for v in x], np.int32)


def _reverse_sequence_ref(x, lengths, seq, batch):
    out = x.copy()
    for b, n in enumerate(lengths):
        src = [slice(None)] * x.ndim
        src[batch], src[seq] = b, slice(0, n)
        dst = list(src)
        dst[seq] = slice(n - 1, None, -1) if n else slice(0, 0)
        out[tuple(src)] = x[tuple(dst)]
    return out


def _cumprod_ref(x, axis=0, exclusive=False, reverse=False):
    y = np.flip(x, axis) if reverse else x
    out = np.cumprod(y, axis=axis)
    if exclusive:
        out = np.concatenate([np.ones_like(np.take(y, [0], axis)), np.take(out, range(y.shape[axis] - 1), axis)], axis)
    return np.flip(out, axis) if reverse else out


_LOWEST, _HIGHEST = np.finfo(np.float32).min, np.finfo(np.float32).max
SPECS = [
    OpSpec("sequence_mask", lambda n: tf.sequence_mask(n, 5), lambda n: np.arange(5) < n[..., None],
           lambda rng: [np.array([[0, 2], [5, 3]], np.int32)], grad=False),
    OpSpec("sequence_mask_default_maxlen_float", lambda n: tf.sequence_mask(n, dtype=tf.float32),
           lambda n: (np.arange(n.max()) < n[:, None]).astype(np.float32),
           lambda rng: [np.array([1, 4, 2], np.int64)], grad=False),
    OpSpec("count_nonzero_all", tf.count_nonzero, lambda x: np.int64(np.count_nonzero(x)),
           lambda rng: [rng.integers(-1, 2, (3, 4)).astype(np.float32)], grad=False),
    OpSpec("count_nonzero_axis_keepdims_int32", lambda x: tf.count_nonzero(x, axis=1, keepdims=True, dtype=tf.int32),
           lambda x: np.count_nonzero(x, axis=1, keepdims=True).astype(np.int32),
           lambda rng: [rng.integers(-1, 2, (3, 4)).astype(np.int32)], grad=False),
    OpSpec("count_nonzero_bool", lambda x: tf.count_nonzero(x, axis=0), lambda x: np.count_nonzero(x, axis=0),
           lambda rng: [rng.random((3, 4)) < 0.5], grad=False),
    OpSpec("segment_sum", tf.segment_sum, _segment_ref(np.sum, 0), _fi((5, 2), [0, 0, 1, 3, 3])),
    OpSpec("segment_sum_constant_ids", lambda x: tf.segment_sum(x, [0, 1, 1, 2]), lambda x: _segment_ref(np.sum, 0)(
        x, np.array([0, 1, 1, 2])), _f((4,))),
    OpSpec("segment_sum_unknown_shape", tf.segment_sum, _segment_ref(np.sum, 0), _fi((4, 3), [1, 1, 2, 2]),
           static_shape=False),
    OpSpec("segment_mean", tf.segment_mean, _segment_ref(np.mean, 0), _fi((5, 2), [0, 0, 0, 2, 3])),
    OpSpec("segment_mean_int_truncates", tf.segment_mean,
           lambda x, ids: np.array([np.trunc((-3 - 4) / 2), 5], np.int32),
           lambda rng: [np.array([-3, -4, 5], np.int32), np.array([0, 0, 1], np.int32)], grad=False),
    OpSpec("segment_max", tf.segment_max, _segment_ref(np.max, 0), _distinct_fi((6, 2), [0, 0, 1, 1, 1, 3])),
    OpSpec("segment_min_unknown_shape", tf.segment_min, _segment_ref(np.min, 0), _distinct_fi((5,), [0, 2, 2, 2, 3]),
           static_shape=False),
    OpSpec("segment_max_ties", tf.segment_max, _segment_ref(np.max, 0),
           lambda rng: [np.array([1.0, 3.0, 3.0, 2.0], np.float32), np.array([0, 0, 0, 1], np.int32)], grad=False),
    OpSpec("unsorted_segment_max", tf.unsorted_segment_max, _segment_ref(np.max, _LOWEST),
           _distinct_fi((5, 2), [2, 0, -1, 2, 0], 3), grad=False),
    OpSpec("unsorted_segment_max_gradient", tf.unsorted_segment_max, _segment_ref(np.max, _LOWEST),
           _distinct_fi((6, 2), [2, 0, -1, 2, 1, 0], 3)),
    OpSpec("unsorted_segment_min_2d_ids", tf.unsorted_segment_min, _segment_ref(np.min, _HIGHEST),
           _distinct_fi((2, 3, 2), [[1, 0, 1], [0, -1, 1]], 2)),
    OpSpec("unsorted_segment_min_unknown_shape", tf.unsorted_segment_min, _segment_ref(np.min, _HIGHEST),
           _distinct_fi((4,), [1, 0, 1, 0], 2), static_shape=False),
    OpSpec("unsorted_segment_mean", tf.unsorted_segment_mean, _segment_ref(np.mean, 0),
           _fi((5, 2), [3, 0, 0, -1, 3], 4)),
    OpSpec("unique", tf.unique, _unique_ref, lambda rng: [np.array([4, 1, 4, 2, 1, 7], np.int32)], grad=False),
    OpSpec("unique_float_int64_idx", lambda x: tf.unique(x, out_idx=tf.int64),
           lambda x: [_unique_ref(x)[0], _unique_ref(x)[1].astype(np.int64)],
           lambda rng: [np.array([0.5, -1.0, 0.5, 3.0], np.float32)], grad=False),
    OpSpec("linspace", lambda a, b: tf.linspace(a, b, 5), lambda a, b: np.linspace(a, b, 5, dtype=np.float32),
           lambda rng: [np.float32(-1.5), np.float32(2.0)]),
    OpSpec("lin_space_one_value", lambda a, b: tf.lin_space(a, b, 1), lambda a, b: np.array([a]),
           lambda rng: [np.float32(3.0), np.float32(5.0)]),
    OpSpec("linspace_fed_num", tf.linspace, lambda a, b, n: np.linspace(a, b, n, dtype=np.float32),
           lambda rng: [np.float32(0.0), np.float32(1.0), np.int32(4)], static_shape=False),
    OpSpec("meshgrid_xy", lambda x, y: tf.meshgrid(x, y), lambda x, y: np.meshgrid(x, y), _f((3,), (2,))),
    OpSpec("meshgrid_ij_three", lambda x, y, z: tf.meshgrid(x, y, z, indexing="ij"),
           lambda x, y, z: np.meshgrid(x, y, z, indexing="ij"), _f((2,), (3,), (4,))),
    OpSpec("meshgrid_xy_unknown_shape", lambda x, y: tf.meshgrid(x, y), lambda x, y: np.meshgrid(x, y),
           _f((3,), (2,)), static_shape=False),
    OpSpec("sort", tf.sort, lambda x: np.sort(x, -1), distinct_inputs((3, 4))),
    OpSpec("sort_descending_axis0", lambda x: tf.sort(x, axis=0, direction="DESCENDING"),
           lambda x: -np.sort(-x, 0), distinct_inputs((3, 4))),
    OpSpec("sort_int_extremes", tf.sort, lambda x: np.sort(x),
           lambda rng: [np.array([5, np.iinfo(np.int32).min, -1, np.iinfo(np.int32).max, 0], np.int32)], grad=False),
    OpSpec("sort_uint8", tf.sort, lambda x: np.sort(x), lambda rng: [np.array([3, 255, 0, 7], np.uint8)], grad=False),
    OpSpec("argsort_stable_ties", tf.argsort, lambda x: np.argsort(x, kind="stable").astype(np.int32),
           lambda rng: [np.array([2.0, 1.0, 2.0, 0.5, 1.0], np.float32)], grad=False),
    OpSpec("argsort_descending_axis1", lambda x: tf.argsort(x, axis=1, direction="DESCENDING"),
           lambda x: np.argsort(-x, axis=1, kind="stable").astype(np.int32), distinct_inputs((2, 5, 3)), grad=False),
    OpSpec("cumprod", tf.cumprod, _cumprod_ref, _away_from_zero((4, 3))),
    OpSpec("cumprod_exclusive_reverse", lambda x: tf.cumprod(x, axis=1, exclusive=True, reverse=True),
           lambda x: _cumprod_ref(x, 1, True, True), _away_from_zero((3, 4))),
    OpSpec("cumprod_exclusive_int", lambda x: tf.cumprod(x, exclusive=True), lambda x: _cumprod_ref(x, 0, True),
           lambda rng: [np.array([1, 2, 3, 4], np.int32)], grad=False),
    OpSpec("cumprod_unknown_shape", lambda x: tf.cumprod(x, axis=-1), lambda x: _cumprod_ref(x, -1),
           _away_from_zero((2, 3)), static_shape=False),
    OpSpec("reduce_variance", lambda x: tf.reduce_variance(x, axis=1), lambda x: x.var(axis=1), _f((3, 4))),
    OpSpec("reduce_variance_all_keepdims", lambda x: tf.reduce_variance(x, keepdims=True),
           lambda x: x.var(keepdims=True), _f((3, 4))),
    OpSpec("reduce_std", lambda x: tf.reduce_std(x, axis=[0, 2]), lambda x: x.std(axis=(0, 2)), _f((2, 3, 4))),
    OpSpec("invert_permutation", tf.invert_permutation, np.argsort,
           lambda rng: [rng.permutation(6).astype(np.int32)], grad=False),
    OpSpec("reverse_sequence", lambda x, n: tf.reverse_sequence(x, n, seq_axis=1),
           lambda x, n: _reverse_sequence_ref(x, n, 1, 0), _fi((3, 4, 2), [2, 0, 4])),
    OpSpec("reverse_sequence_batch_axis1", lambda x, n: tf.reverse_sequence(x, n, seq_axis=0, batch_axis=2),
           lambda x, n: _reverse_sequence_ref(x, n, 0, 2), _fi((4, 2, 3), [1, 3, 4])),
    OpSpec("reverse_sequence_unknown_shape_old_names", lambda x, n: tf.reverse_sequence(x, n, seq_dim=1, batch_dim=0),
           lambda x, n: _reverse_sequence_ref(x, n, 1, 0), _fi((2, 3), [3, 1]), static_shape=False),
]
