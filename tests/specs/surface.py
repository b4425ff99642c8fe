"""Pure ops added for issue 13: StringToNumber, TruncateDiv, TruncateMod."""

import numpy as np

import dataflow as tf
from opspec import OpSpec


def _ints(rng):
    return [rng.integers(-9, 10, (3, 4)).astype(np.int32),
            (rng.integers(1, 5, (3, 4)) * rng.choice([-1, 1], (3, 4))).astype(np.int32)]


def _strings(rng):
    return [np.array([str(v).encode() for v in rng.standard_normal(5).round(3)], dtype=object)]


SPECS = [
    OpSpec("truncatediv", tf.truncatediv, lambda x, y: (np.trunc(x / y)).astype(x.dtype), _ints, grad=False),
    OpSpec("truncatemod", tf.truncatemod, np.fmod, _ints, grad=False),
    OpSpec("string_to_number", tf.string_to_number,
           lambda s: np.array([float(v) for v in s], np.float32), _strings, grad=False),
]
