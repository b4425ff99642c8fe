"""The op test harness: one :class:`OpSpec` row per op, checked forward against NumPy (on the NumPy
backend, the only one so far) and, when differentiable, by a central-difference gradient check in
float64.

A row says how to build the op from input tensors (``build``), the NumPy reference on the same
arrays (``ref``), and the input arrays (``inputs``, a function of a NumPy Generator). Rows live in
``tests/specs/<family>.py`` as a list named ``SPECS``; ``tests/test_ops.py`` runs them all.
"""

from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from typing import Callable

import numpy as np

import dataflow as tf


@dataclass
class OpSpec:
    name: str
    build: Callable                 # build(*tensors) -> Tensor or list of Tensors
    ref: Callable                   # ref(*arrays) -> array or list of arrays
    inputs: Callable                # inputs(rng) -> list of arrays
    grad: bool = True               # check the gradient w.r.t. the float inputs
    grad_inputs: tuple | None = None  # which inputs to differentiate (default: all float ones)
    rtol: float = 1e-5
    atol: float = 1e-6
    grad_rtol: float = 1e-4
    grad_atol: float = 1e-6
    feed: bool = True               # inputs as placeholders (True) or constants (False)
    static_shape: bool = True       # placeholders carry the inputs' full static shapes
    eps: float = 1e-6
    extra: dict = field(default_factory=dict)


def normal_inputs(*shapes):
    """An ``inputs`` function: float32 standard-normal arrays of the given shapes."""
    return lambda rng: [rng.standard_normal(s).astype(np.float32) for s in shapes]


def distinct_inputs(shape, scale=0.37, centered=False):
    """An ``inputs`` function: one float32 array of well separated values (no ties, so max, sort and
    pooling are stable under central differences): a permutation of ``0..n-1`` times ``scale``, minus 3
    (``centered``: minus half the range)."""
    def gen(rng):
        n = int(np.prod(shape))
        shift = n * scale / 2 if centered else 3
        return [(rng.permutation(n).reshape(shape) * scale - shift).astype(np.float32)]

    return gen


def all_specs() -> list[OpSpec]:
    import specs

    out = []
    for mod in pkgutil.iter_modules(specs.__path__):
        out.extend(importlib.import_module(f"specs.{mod.name}").SPECS)
    return out


def _as_list(x):
    return list(x) if isinstance(x, (list, tuple)) else [x]


def backend_devices() -> list[str]:
    """The devices the op table runs on here: the CPU always, each backend present (OpenCL, CUDA)."""
    import backends

    return [b.device for b in backends.available_backends()]


def session_for(graph, device):
    """A session; on a device other than the CPU, ops without a kernel there fall back to the CPU
    (soft placement, with visible _Send/_Recv copies)."""
    cfg = tf.ConfigProto(allow_soft_placement=True) if device else None
    return tf.Session(graph=graph, config=cfg)


def build_graph(spec: OpSpec, arrays, device=None):
    """A new graph with the spec's op on placeholders (or constants) for ``arrays``, on ``device``."""
    g = tf.Graph()
    with g.as_default(), g.device(device):
        if spec.feed:
            ins = [tf.placeholder(tf.as_dtype(a.dtype) if a.dtype.kind not in "OSU" else tf.string,
                                  a.shape if spec.static_shape else None, name=f"in{i}")
                   for i, a in enumerate(arrays)]
        else:
            ins = [tf.constant(a) for a in arrays]
        outs = _as_list(spec.build(*ins))
    return g, ins, outs


def check_forward(spec: OpSpec, device=None):
    rng = np.random.default_rng(0)
    arrays = [np.asarray(a) for a in spec.inputs(rng)]
    g, ins, outs = build_graph(spec, arrays, device)
    with session_for(g, device) as sess:
        got = sess.run(outs, feed_dict=dict(zip(ins, arrays)) if spec.feed else None)
    want = _as_list(spec.ref(*arrays))
    assert len(got) == len(want), f"{spec.name}: {len(got)} outputs, reference has {len(want)}"
    for i, (o, w, t) in enumerate(zip(got, want, outs)):
        w = np.asarray(w)
        assert np.shape(o) == w.shape, f"{spec.name} output {i}: shape {np.shape(o)} != {w.shape}"
        assert np.asarray(o).dtype == t.dtype.as_numpy_dtype or t.dtype is tf.string, \
            f"{spec.name} output {i}: dtype {np.asarray(o).dtype} != graph dtype {t.dtype.name}"
        if t.get_shape().ndims is not None:
            assert t.get_shape().is_compatible_with(w.shape), \
                f"{spec.name} output {i}: static shape {t.get_shape()} vs value shape {w.shape}"
        if w.dtype.kind in "OSU":
            assert np.array_equal(np.asarray(o, dtype=object), w), f"{spec.name} output {i}"
        else:
            np.testing.assert_allclose(o, w, rtol=spec.rtol, atol=spec.atol, err_msg=f"{spec.name} output {i}")
    return g


def check_gradient(spec: OpSpec, device=None):
    """Compare tf.gradients of sum(w * out) with central differences along a random direction.

    The weights ``w`` are random arrays of each output's runtime shape, fed through placeholders, so a
    gradient rule that permutes or misplaces elements shows even where the static shape is unknown.
    """
    rng = np.random.default_rng(1)
    arrays = [np.asarray(a) for a in spec.inputs(rng)]
    arrays = [a.astype(np.float64) if a.dtype.kind == "f" else a for a in arrays]
    which = spec.grad_inputs if spec.grad_inputs is not None else \
        tuple(i for i, a in enumerate(arrays) if a.dtype.kind == "f")
    g, ins, outs = build_graph(spec, arrays, device)
    with g.as_default(), g.device(device):
        outs_f = [o for o in outs if o.dtype.is_floating]
        weights = [tf.placeholder(o.dtype, o.get_shape(), name=f"weight{k}") for k, o in enumerate(outs_f)]
        objective = tf.add_n([tf.reduce_sum(o * w) for o, w in zip(outs_f, weights)])
        grads = tf.gradients(objective, [ins[i] for i in which])
    with session_for(g, device) as sess:
        feed = dict(zip(ins, arrays))
        values = sess.run(outs_f, feed)
        feed.update({w: rng.standard_normal(np.shape(v)).astype(w.dtype.as_numpy_dtype)
                     for w, v in zip(weights, values)})
        analytic = sess.run([gr for gr in grads if gr is not None], feed)
        it = iter(analytic)
        for i, gr in zip(which, grads):
            assert gr is not None, f"{spec.name}: no gradient for input {i}"
            a = next(it)
            assert np.shape(a) == arrays[i].shape, f"{spec.name}: grad {i} shape {np.shape(a)} != {arrays[i].shape}"
            v = rng.standard_normal(arrays[i].shape)
            plus, minus = dict(feed), dict(feed)
            plus[ins[i]] = arrays[i] + spec.eps * v
            minus[ins[i]] = arrays[i] - spec.eps * v
            numeric = (sess.run(objective, plus) - sess.run(objective, minus)) / (2 * spec.eps)
            directional = float(np.sum(a * v))
            np.testing.assert_allclose(directional, numeric, rtol=spec.grad_rtol, atol=spec.grad_atol,
                                       err_msg=f"{spec.name}: gradient of input {i}")


def op_types(graph) -> set:
    """Op types in ``graph`` and in the bodies of its functional ops (while_loop, cond), nested."""
    from dataflow.framework.func_graph import func_graphs_of

    seen, stack = set(), [graph]
    while stack:
        for op in stack.pop().get_operations():
            seen.add(op.type)
            stack.extend(func_graphs_of(op))
    return seen
