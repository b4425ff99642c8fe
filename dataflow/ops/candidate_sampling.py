"""Candidate sampling: TF's candidate samplers and the sampled losses built on them, ``tf.nn.nce_loss``
and ``tf.nn.sampled_softmax_loss`` (training a large-vocabulary classifier on a few sampled classes).

A sampler draws ``num_sampled`` class ids from ``[0, range_max)`` and returns, with them, the expected
number of times each true class and each sampled class appears in such a draw (``Q``); the sampled
losses subtract ``log Q`` from the logits so the estimate is unbiased. Distributions, as TF:

- ``log_uniform`` (Zipfian, for ids sorted by frequency): ``P(c) = log((c + 2) / (c + 1)) / log(range_max + 1)``,
  drawn as ``floor(exp(u * log(range_max + 1))) - 1``;
- ``uniform``: ``P(c) = 1 / range_max``.

With ``unique=True`` draws are repeated until ``num_sampled`` distinct ids came out after ``tries``
draws, and a class's expected count is ``1 - (1 - P(c)) ** tries``; otherwise it is
``num_sampled * P(c)``. The streams are NumPy's (seeded as every random op here), not TF's.
``ComputeAccidentalHits`` finds sampled ids that equal a row's true class, whose logits the sampled
softmax pushes to ``-FLOAT_MAX`` (``remove_accidental_hits``).
"""

from __future__ import annotations

import numpy as np

from ..framework import dtypes
from ..framework.graph import Tensor, convert_to_tensor, make_op, name_scope
from ..framework.registry import OpDef, register
from ..framework.tensor_shape import TensorShape
from . import array, math
from .gather import scatter_nd
from .indexing import concat, stack
from .indexing import slice as slice_
from .linalg import matmul
from .random import _bind_rng, get_seed
from .reduction import reduce_sum

__all__ = ["log_uniform_candidate_sampler", "uniform_candidate_sampler", "compute_accidental_hits", "nce_loss",
           "sampled_softmax_loss"]


def _probability(kind: str, ids: np.ndarray, range_max: int) -> np.ndarray:
    ids = ids.astype(np.float64)
    if kind == "log_uniform":
        return np.log((ids + 2.0) / (ids + 1.0)) / np.log(range_max + 1.0)
    return np.full(ids.shape, 1.0 / range_max)


def _draw(kind: str, rng, n: int, range_max: int) -> np.ndarray:
    if kind == "log_uniform":
        v = np.floor(np.exp(rng.random(n) * np.log(range_max + 1.0))).astype(np.int64) - 1
        return np.minimum(v, range_max - 1)
    return rng.integers(0, range_max, n).astype(np.int64)


def _sampler_kernel(xp, true_classes, *, kind, num_true, num_sampled, unique, range_max, rng):
    if unique:
        if num_sampled > range_max:
            raise ValueError(f"Sampler: num_sampled ({num_sampled}) must be at most range_max ({range_max}) "
                             "when unique")
        seen: dict = {}
        tries = 0
        while len(seen) < num_sampled:  # batches of draws; keep the first num_sampled distinct ids in order
            block = _draw(kind, rng, max(num_sampled - len(seen), 16), range_max)
            for v in block:
                tries += 1
                if v not in seen:
                    seen[v] = None
                    if len(seen) == num_sampled:
                        break
        sampled = np.fromiter(seen, np.int64, num_sampled)

        def expected(ids):
            return -np.expm1(tries * np.log1p(-_probability(kind, ids, range_max)))
    else:
        sampled = _draw(kind, rng, num_sampled, range_max)

        def expected(ids):
            return _probability(kind, ids, range_max) * num_sampled
    true = np.asarray(true_classes)
    return (sampled, expected(true).astype(np.float32), expected(sampled).astype(np.float32))


def _sampler_infer(op):
    true, n = op.inputs[0], op.attrs["num_sampled"]
    if not true.dtype.is_integer:
        raise TypeError(f"{op.type}: true_classes must be int64, got {true.dtype.name}")
    return [(dtypes.int64, TensorShape([n])), (dtypes.float32, true.shape), (dtypes.float32, TensorShape([n]))]


for _type in ("LogUniformCandidateSampler", "UniformCandidateSampler"):
    register(OpDef(_type, _sampler_infer, _sampler_kernel, differentiable=False, stateful=True, bind=_bind_rng))


def _sampler(op_type, kind, true_classes, num_true, num_sampled, unique, range_max, seed, name):
    true_classes = math.cast(convert_to_tensor(true_classes), dtypes.int64)
    seed1, seed2 = get_seed(seed)
    attrs = {"kind": kind, "num_true": int(num_true), "num_sampled": int(num_sampled), "unique": bool(unique),
             "range_max": int(range_max), "seed": seed1, "seed2": seed2}
    return tuple(make_op(op_type, [true_classes], attrs, name or op_type).outputs)


def log_uniform_candidate_sampler(true_classes, num_true, num_sampled, unique, range_max, seed=None, name=None):
    """Sample ``num_sampled`` ids from the log-uniform (Zipfian) distribution over ``[0, range_max)``.

    Returns ``(sampled_candidates, true_expected_count, sampled_expected_count)``.

    Examples
    --------
    >>> import dataflow as tf
    >>> s, tc, sc = tf.nn.log_uniform_candidate_sampler([[0], [5]], 1, 4, True, 100, seed=1)
    >>> sorted(set(tf.Session().run(s).tolist())).__len__()
    4
    """
    return _sampler("LogUniformCandidateSampler", "log_uniform", true_classes, num_true, num_sampled, unique,
                    range_max, seed, name)


def uniform_candidate_sampler(true_classes, num_true, num_sampled, unique, range_max, seed=None, name=None):
    """Sample ``num_sampled`` ids uniformly from ``[0, range_max)``; returns as
    :func:`log_uniform_candidate_sampler`."""
    return _sampler("UniformCandidateSampler", "uniform", true_classes, num_true, num_sampled, unique, range_max,
                    seed, name)


def _accidental_hits_kernel(xp, true_classes, sampled_candidates, *, num_true):
    true = np.asarray(true_classes).reshape(-1, num_true)
    rows, cols = np.nonzero((true[:, :, None] == np.asarray(sampled_candidates)[None, None, :]).any(axis=1))
    return (rows.astype(np.int32), cols.astype(np.int64),
            np.full(rows.shape, -np.finfo(np.float32).max, np.float32))


register(OpDef("ComputeAccidentalHits", lambda op: [(dtypes.int32, TensorShape([None])),
                                                    (dtypes.int64, TensorShape([None])),
                                                    (dtypes.float32, TensorShape([None]))],
               _accidental_hits_kernel, differentiable=False))


def compute_accidental_hits(true_classes, sampled_candidates, num_true, seed=None, name=None):
    """Where a sampled candidate equals one of a row's true classes: ``(indices, ids, weights)`` with
    ``indices`` the rows, ``ids`` the positions in ``sampled_candidates`` and ``weights`` ``-FLOAT_MAX``."""
    true_classes = math.cast(convert_to_tensor(true_classes), dtypes.int64)
    sampled = math.cast(convert_to_tensor(sampled_candidates), dtypes.int64)
    return tuple(make_op("ComputeAccidentalHits", [true_classes, sampled], {"num_true": int(num_true)},
                         name or "ComputeAccidentalHits").outputs)


def _compute_sampled_logits(weights, biases, labels, inputs, num_sampled, num_classes, num_true=1,
                            sampled_values=None, subtract_log_q=True, remove_accidental_hits=False,
                            partition_strategy="mod", name=None, seed=None):
    """TF's ``_compute_sampled_logits``: logits of the true and the sampled classes, ``[batch, num_true +
    num_sampled]``, and their labels (``1 / num_true`` for the true ones)."""
    from .array import stop_gradient
    from .nn_ops import embedding_lookup

    weights = list(weights) if isinstance(weights, (list, tuple)) else [weights]
    with name_scope(name, "compute_sampled_logits", weights + [biases, inputs, labels]):
        labels = math.cast(convert_to_tensor(labels), dtypes.int64)
        inputs = convert_to_tensor(inputs)
        labels_flat = array.reshape(labels, [-1])
        if sampled_values is None:
            sampled_values = log_uniform_candidate_sampler(labels, num_true, num_sampled, True, num_classes, seed)
        sampled, true_expected, sampled_expected = (stop_gradient(convert_to_tensor(s)) for s in sampled_values)
        sampled = math.cast(sampled, dtypes.int64)
        all_ids = concat([labels_flat, sampled], 0)
        all_w = embedding_lookup(weights, all_ids, partition_strategy=partition_strategy)
        n_true = array.size(labels_flat)
        true_w = slice_(all_w, [0, 0], stack([n_true, -1]))
        sampled_w = slice_(all_w, stack([n_true, 0]), [-1, -1])
        sampled_logits = matmul(inputs, sampled_w, transpose_b=True)
        all_b = embedding_lookup(biases, all_ids, partition_strategy=partition_strategy)
        true_b = slice_(all_b, [0], array.reshape(n_true, [1]))
        sampled_b = slice_(all_b, array.reshape(n_true, [1]), [-1])
        dim = array.shape(true_w)[1:2]
        row_dots = array.expand_dims(inputs, 1) * array.reshape(true_w, concat([[-1, num_true], dim], 0))
        true_logits = array.reshape(reduce_sum(row_dots, -1), [-1, num_true]) + array.reshape(true_b, [-1, num_true])
        sampled_logits = sampled_logits + sampled_b
        if remove_accidental_hits:
            rows, ids, hit_weights = compute_accidental_hits(labels, sampled, num_true)
            where = concat([array.reshape(rows, [-1, 1]), array.reshape(math.cast(ids, dtypes.int32), [-1, 1])], 1)
            shape = stack([array.shape(labels)[0], num_sampled])
            sampled_logits = sampled_logits + scatter_nd(where, math.cast(hit_weights, sampled_logits.dtype), shape)
        if subtract_log_q:
            true_logits = true_logits - math.log(true_expected)
            sampled_logits = sampled_logits - math.log(sampled_expected)
        out_logits = concat([true_logits, sampled_logits], 1)
        out_labels = concat([array.ones_like(true_logits) / num_true, array.zeros_like(sampled_logits)], 1)
        return out_logits, out_labels


def nce_loss(weights, biases, labels, inputs, num_sampled, num_classes, num_true=1, sampled_values=None,
             remove_accidental_hits=False, partition_strategy="mod", name="nce_loss") -> Tensor:
    """Noise-contrastive estimation loss per example, ``[batch]``: a logistic loss telling each true
    class from ``num_sampled`` classes drawn by ``sampled_values`` (log-uniform by default).

    ``weights`` ``[num_classes, dim]``, ``biases`` ``[num_classes]``, ``labels`` ``[batch, num_true]``,
    ``inputs`` ``[batch, dim]``. Its gradient with respect to ``weights`` is sparse (the sampled and true
    rows only: ``tf.IndexedSlices``).
    """
    from .nn_ops import sigmoid_cross_entropy_with_logits

    logits, labels = _compute_sampled_logits(weights, biases, labels, inputs, num_sampled, num_classes, num_true,
                                             sampled_values, True, remove_accidental_hits, partition_strategy, name)
    losses = sigmoid_cross_entropy_with_logits(labels=labels, logits=logits, name="sampled_losses")
    return reduce_sum(losses, 1)


def sampled_softmax_loss(weights, biases, labels, inputs, num_sampled, num_classes, num_true=1, sampled_values=None,
                         remove_accidental_hits=True, partition_strategy="mod", name="sampled_softmax_loss",
                         seed=None) -> Tensor:
    """Softmax cross-entropy over the true class and ``num_sampled`` sampled classes, per example
    (``[batch]``), sampled ids equal to the true class removed (``remove_accidental_hits``)."""
    from .array import stop_gradient
    from .nn_ops import softmax_cross_entropy_with_logits_v2

    logits, labels = _compute_sampled_logits(weights, biases, labels, inputs, num_sampled, num_classes, num_true,
                                             sampled_values, True, remove_accidental_hits, partition_strategy, name,
                                             seed)
    return softmax_cross_entropy_with_logits_v2(labels=stop_gradient(labels), logits=logits)
