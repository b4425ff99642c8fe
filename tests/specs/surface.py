"""Pure ops added for issue 13: StringToNumber, TruncateDiv, TruncateMod."""

import numpy as np

import dataflow as tf
from opspec import OpSpec


def _ints(rng):
    return [rng.integers(-9, 10, (3, 4)).astype(np.int32),
            (rng.integers(1, 5, (3, 4)) * rng.choice([-1, 1], (3, 4))).astype(np.int32)]


def _strings(rng):
    return [np.array([str(v).encode() for v in rng.standard_normal(5).round(3)], dtype=object)]


def _with_axis(axis):
    return lambda rng: [rng.standard_normal((3, 4)).astype(np.float32), np.array(axis, np.int32)]


def _hits_ref(true, sampled):
    rows, cols = np.nonzero((true[:, :, None] == sampled[None, None, :]).any(axis=1))
    return [rows.astype(np.int32), cols.astype(np.int64), np.full(rows.shape, -np.finfo(np.float32).max, np.float32)]


def _hits_inputs(rng):
    return [rng.integers(0, 6, (4, 2)).astype(np.int64), rng.permutation(8)[:5].astype(np.int64)]


SPECS = [
    OpSpec("compute_accidental_hits", lambda t, s: list(tf.nn.compute_accidental_hits(t, s, num_true=2)),
           _hits_ref, _hits_inputs, grad=False),
    OpSpec("reduce_sum_computed_axis", lambda x, a: tf.reduce_sum(x, axis=a), lambda x, a: x.sum(int(a)),
           _with_axis(1)),
    OpSpec("reduce_mean_computed_axes", lambda x, a: tf.reduce_mean(x, axis=a), lambda x, a: x.mean(tuple(a)),
           _with_axis([0, 1])),
    OpSpec("reduce_max_computed_axis", lambda x, a: tf.reduce_max(x, axis=a, keepdims=True),
           lambda x, a: x.max(int(a), keepdims=True), _with_axis(-1)),
    OpSpec("truncatediv", tf.truncatediv, lambda x, y: (np.trunc(x / y)).astype(x.dtype), _ints, grad=False),
    OpSpec("truncatemod", tf.truncatemod, np.fmod, _ints, grad=False),
    OpSpec("string_to_number", tf.string_to_number,
           lambda s: np.array([float(v) for v in s], np.float32), _strings, grad=False),
]
