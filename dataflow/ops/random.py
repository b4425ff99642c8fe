"""Random ops with TF1's seeding: ``tf.set_random_seed`` (graph level) and ``seed=`` (op level).

Each random op owns a generator in the session, seeded from (graph seed, op seed): a new session
replays the same values; consecutive runs draw new ones. The streams are NumPy's (PCG64), not TF's
Philox, so values differ from TensorFlow's for the same seeds.
"""

from __future__ import annotations

import numpy as np

from ..framework import dtypes
from ..framework.graph import convert_to_tensor, get_default_graph, make_op, name_scope
from ..framework.registry import OpDef, register
from .common import shape_tensor_as_static, shape_value

DEFAULT_GRAPH_SEED = 87654321


def set_random_seed(seed) -> None:
    """``tf.set_random_seed``: the graph-level seed for ops made after this."""
    get_default_graph().seed = seed


def get_seed(op_seed):
    """TF1's (seed, seed2) for an op: from the graph seed and the op seed, or (None, None)."""
    graph = get_default_graph()
    if graph.seed is not None:
        return graph.seed, graph._last_id if op_seed is None else op_seed
    if op_seed is not None:
        return DEFAULT_GRAPH_SEED, op_seed
    return None, None


def _bind_rng(op, state):
    return {"rng": state.rng(op)}


def _standard_normal_kernel(xp, shape, *, dtype, rng):
    return xp.asarray(rng.standard_normal(shape_value(shape)), dtype=dtype.as_numpy_dtype)


def _truncated_normal_kernel(xp, shape, *, dtype, rng):
    out = rng.standard_normal(shape_value(shape))
    bad = np.abs(out) > 2
    while bad.any():  # NOTE: TF re-draws values more than 2 standard deviations out
        out[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2
    return xp.asarray(out, dtype=dtype.as_numpy_dtype)


def _uniform_kernel(xp, shape, *, dtype, rng):
    return xp.asarray(rng.random(shape_value(shape)), dtype=dtype.as_numpy_dtype)


def _uniform_int_kernel(xp, shape, minval, maxval, *, rng):
    return xp.asarray(rng.integers(int(minval), int(maxval), shape_value(shape)), dtype=minval.dtype)


def _random_infer(op):
    return [(op.attrs["dtype"], shape_tensor_as_static(op.inputs[0]))]


for _t, _k in [("RandomStandardNormal", _standard_normal_kernel), ("TruncatedNormal", _truncated_normal_kernel),
               ("RandomUniform", _uniform_kernel)]:
    register(OpDef(_t, _random_infer, _k, stateful=True, bind=_bind_rng, differentiable=False))
register(OpDef("RandomUniformInt", lambda op: [(op.inputs[1].dtype, shape_tensor_as_static(op.inputs[0]))],
               _uniform_int_kernel, stateful=True, bind=_bind_rng, differentiable=False))


def _shuffle_kernel(xp, x, *, rng):
    return x[rng.permutation(x.shape[0])] if x.ndim else x


register(OpDef("RandomShuffle", lambda op: [(op.inputs[0].dtype, op.inputs[0].shape)], _shuffle_kernel,
               stateful=True, bind=_bind_rng, differentiable=False))


def _shape_input(shape):
    from .array import _shape_arg

    return _shape_arg(shape)


def _random(op_type, shape, dtype, seed, name):
    s1, s2 = get_seed(seed)
    return make_op(op_type, [_shape_input(shape)], {"dtype": dtypes.as_dtype(dtype), "seed": s1, "seed2": s2},
                   name).outputs[0]


def random_normal(shape, mean=0.0, stddev=1.0, dtype=dtypes.float32, seed=None, name=None):
    """Samples from a normal distribution."""
    dtype = dtypes.as_dtype(dtype)
    with name_scope(name, "random_normal", []) as scope:
        rnd = _random("RandomStandardNormal", shape, dtype, seed, "RandomStandardNormal")
        return _affine(rnd, mean, stddev, dtype, scope)


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=dtypes.float32, seed=None, name=None):
    """Samples from a normal distribution, re-drawn when more than 2 stddevs from the mean."""
    dtype = dtypes.as_dtype(dtype)
    with name_scope(name, "truncated_normal", []) as scope:
        rnd = _random("TruncatedNormal", shape, dtype, seed, "TruncatedNormal")
        return _affine(rnd, mean, stddev, dtype, scope)


def _affine(rnd, mean, scale, dtype, name):
    from .math import add, multiply

    mean = convert_to_tensor(mean, dtype=dtype)
    scale = convert_to_tensor(scale, dtype=dtype)
    return add(multiply(rnd, scale), mean, name=name)


def random_uniform(shape, minval=0, maxval=None, dtype=dtypes.float32, seed=None, name=None):
    """Samples uniformly from [minval, maxval) (maxval defaults to 1 for floats)."""
    dtype = dtypes.as_dtype(dtype)
    with name_scope(name, "random_uniform", []) as scope:
        if dtype.is_integer:
            if maxval is None:
                raise ValueError(f"Must specify maxval for integer dtype {dtype.name}")
            s1, s2 = get_seed(seed)
            return make_op("RandomUniformInt", [_shape_input(shape), convert_to_tensor(minval, dtype=dtype),
                                                convert_to_tensor(maxval, dtype=dtype)],
                           {"seed": s1, "seed2": s2}, scope).outputs[0]
        maxval = 1 if maxval is None else maxval
        rnd = _random("RandomUniform", shape, dtype, seed, "RandomUniform")
        minval_t = convert_to_tensor(minval, dtype=dtype)
        maxval_t = convert_to_tensor(maxval, dtype=dtype)
        from .math import add, multiply, subtract

        return add(multiply(rnd, subtract(maxval_t, minval_t)), minval_t, name=scope)


def random_shuffle(value, seed=None, name=None):
    """``value`` with its first dimension randomly permuted."""
    s1, s2 = get_seed(seed)
    return make_op("RandomShuffle", [convert_to_tensor(value)], {"seed": s1, "seed2": s2}, name).outputs[0]
