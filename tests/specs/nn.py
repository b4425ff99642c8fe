"""tf.nn: activations, softmax and cross-entropies, normalization, top-k, embedding lookup.

Inputs for gradient checks stay away from kinks (relu6 at 0 and 6, ...) and ties; the gradients
exactly at kinks follow TF and are tested in test_nn_golden.py. Cross-entropy labels for gradient
checks are distributions, where TF's ``softmax - labels`` is the true derivative.
"""

import numpy as np

import dataflow as tf
from opspec import OpSpec, distinct_inputs


def _f(*shapes, lo=-3.0, hi=3.0):
    return lambda rng: [rng.uniform(lo, hi, s).astype(np.float32) for s in shapes]


def _away(shape, kinks, lo=-8.0, hi=8.0, gap=0.05):
    """Uniform values at least ``gap`` from every kink."""
    def gen(rng):
        x = rng.uniform(lo, hi, shape)
        for k in kinks:
            near = np.abs(x - k) < gap
            x[near] = k + np.sign(x[near] - k + 1e-9) * gap * 2
        return [x.astype(np.float32)]
    return gen


def _softmax(x, axis=-1):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _log_softmax(x, axis=-1):
    s = x - x.max(axis=axis, keepdims=True)
    return s - np.log(np.exp(s).sum(axis=axis, keepdims=True))


def _lse(x, axis=None, keepdims=False):
    m = np.max(x, axis=axis, keepdims=True)
    out = np.log(np.sum(np.exp(x - m), axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis)


def _dist(rng, shape):
    return rng.dirichlet(np.ones(shape[-1]), shape[:-1]).astype(np.float32)


def _labels_logits(shape):
    return lambda rng: [_dist(rng, shape), rng.normal(0, 2, shape).astype(np.float32)]


def _sparse(shape):
    return lambda rng: [rng.integers(0, shape[-1], shape[:-1]).astype(np.int32),
                        rng.normal(0, 2, shape).astype(np.float32)]


def _sigmoid_ce(z, x):
    return np.maximum(x, 0) - x * z + np.log1p(np.exp(-np.abs(x)))


def _bn_inputs(shape, channels_axis=-1):
    def gen(rng):
        c = shape[channels_axis]
        return [rng.normal(0.5, 2.0, shape).astype(np.float32), rng.uniform(0.5, 1.5, c).astype(np.float32),
                rng.normal(0, 0.5, c).astype(np.float32)]
    return gen


def _fused_ref(x, scale, offset, axes=(0, 1, 2), eps=1e-3):
    keep = [1 if i in axes else d for i, d in enumerate(x.shape)]
    mean, var = x.mean(axis=axes), x.var(axis=axes)
    y = (x - mean.reshape(keep)) / np.sqrt(var.reshape(keep) + eps) * scale.reshape(keep) + offset.reshape(keep)
    n = x.size // mean.size
    return [y, mean, var * n / (n - 1)]


SELU_A, SELU_S = 1.6732632423543772848170429916717, 1.0507009873554804934193349852946

ACTIVATIONS = [
    ("relu6", tf.nn.relu6, lambda x: np.clip(x, 0, 6), _away((4, 5), [0, 6])),
    ("elu", tf.nn.elu, lambda x: np.where(x > 0, x, np.expm1(x)), _away((4, 5), [0])),
    ("selu", tf.nn.selu, lambda x: SELU_S * np.where(x > 0, x, SELU_A * np.expm1(x)), _away((4, 5), [0])),
    ("leaky_relu", lambda x: tf.nn.leaky_relu(x, alpha=0.1), lambda x: np.where(x > 0, x, 0.1 * x),
     _away((4, 5), [0])),
    ("leaky_relu_alpha_gt_1", lambda x: tf.nn.leaky_relu(x, alpha=2.0), lambda x: np.where(x > 0, x, 2 * x),
     _away((6,), [0])),
    ("softplus", tf.nn.softplus, lambda x: np.logaddexp(0, x), _f((4, 5), lo=-10, hi=10)),
    ("softplus_extreme", tf.nn.softplus, lambda x: np.logaddexp(0, x),
     lambda rng: [np.array([-200.0, -30.0, 0.0, 30.0, 200.0], np.float32)]),
    ("softsign", tf.nn.softsign, lambda x: x / (1 + np.abs(x)), _away((4, 5), [0])),
    ("swish", tf.nn.swish, lambda x: x / (1 + np.exp(-x)), _f((4, 5))),
    ("nn_sigmoid", tf.nn.sigmoid, lambda x: 1 / (1 + np.exp(-x)), _f((4,))),
    ("nn_tanh", tf.nn.tanh, np.tanh, _f((4,))),
]

SPECS = [OpSpec(n, fn, ref, gen) for n, fn, ref, gen in ACTIVATIONS]
SPECS += [
    OpSpec("elu_large_input_finite", tf.nn.elu, lambda x: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
           lambda rng: [np.array([-100.0, -1.0, 1.0, 100.0, 500.0], np.float32)], grad=False),
    # softmax / log_softmax / logsumexp
    OpSpec("softmax", tf.nn.softmax, _softmax, _f((4, 5))),
    OpSpec("softmax_axis0", lambda x: tf.nn.softmax(x, axis=0), lambda x: _softmax(x, 0), _f((4, 5))),
    OpSpec("softmax_dim1_rank3", lambda x: tf.nn.softmax(x, dim=1), lambda x: _softmax(x, 1), _f((2, 3, 4))),
    OpSpec("softmax_large_logits", tf.nn.softmax, _softmax,
           lambda rng: [np.array([[1000.0, 0.0, -1000.0], [-5e3, -5e3, -5e3]], np.float32)], grad=False),
    OpSpec("softmax_unknown_shape", tf.nn.softmax, _softmax, _f((3, 4)), static_shape=False),
    OpSpec("log_softmax", tf.nn.log_softmax, _log_softmax, _f((4, 5))),
    OpSpec("log_softmax_axis0", lambda x: tf.nn.log_softmax(x, axis=0), lambda x: _log_softmax(x, 0), _f((4, 5))),
    OpSpec("log_softmax_large_logits", tf.nn.log_softmax, _log_softmax,
           lambda rng: [np.array([[1000.0, 0.0, -1000.0]], np.float32)], grad=False, rtol=1e-6),
    OpSpec("reduce_logsumexp_all", tf.reduce_logsumexp, _lse, _f((3, 4))),
    OpSpec("reduce_logsumexp_axis1", lambda x: tf.reduce_logsumexp(x, axis=1), lambda x: _lse(x, 1), _f((3, 4))),
    OpSpec("reduce_logsumexp_keepdims", lambda x: tf.reduce_logsumexp(x, axis=[0, 2], keepdims=True),
           lambda x: _lse(x, (0, 2), True), _f((2, 3, 4))),
    OpSpec("reduce_logsumexp_large", lambda x: tf.reduce_logsumexp(x, axis=-1), lambda x: _lse(x, -1),
           lambda rng: [np.array([[1000.0, 1000.0], [-1000.0, -999.0]], np.float32)], grad=False),
    OpSpec("reduce_logsumexp_neg_inf_row", lambda x: tf.reduce_logsumexp(x, axis=-1),
           lambda x: np.array([-np.inf, np.log(2.0)], np.float32),
           lambda rng: [np.array([[-np.inf, -np.inf], [0.0, 0.0]], np.float32)], grad=False),
    # cross-entropies
    OpSpec("softmax_ce_v2", lambda z, x: tf.nn.softmax_cross_entropy_with_logits_v2(labels=z, logits=x),
           lambda z, x: -(z * _log_softmax(x)).sum(-1), _labels_logits((4, 5))),
    OpSpec("softmax_ce_v2_axis0", lambda z, x: tf.nn.softmax_cross_entropy_with_logits_v2(z, x, axis=0),
           lambda z, x: -(z * _log_softmax(x, 0)).sum(0),
           lambda rng: [_dist(rng, (5, 4)).T.copy(), rng.normal(0, 2, (4, 5)).astype(np.float32)]),
    OpSpec("softmax_ce_v1_logits_only",
           lambda z, x: tf.nn.softmax_cross_entropy_with_logits(labels=z, logits=x),
           lambda z, x: -(z * _log_softmax(x)).sum(-1), _labels_logits((3, 4)), grad_inputs=(1,)),
    OpSpec("softmax_ce_rank3", lambda z, x: tf.nn.softmax_cross_entropy_with_logits_v2(labels=z, logits=x),
           lambda z, x: -(z * _log_softmax(x)).sum(-1), _labels_logits((2, 3, 4))),
    OpSpec("sparse_softmax_ce", lambda z, x: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=z, logits=x),
           lambda z, x: -np.take_along_axis(_log_softmax(x), z[:, None].astype(np.int64), -1)[:, 0],
           _sparse((6, 5))),
    OpSpec("sparse_softmax_ce_int64_unknown_classes",
           lambda z, x: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=tf.cast(z, tf.int64), logits=x),
           lambda z, x: -np.take_along_axis(_log_softmax(x), z[:, None].astype(np.int64), -1)[:, 0],
           _sparse((3, 4)), static_shape=False),
    OpSpec("sparse_softmax_ce_rank3",  # rank 3: the composed form (rank 2 is the fused op)
           lambda z, x: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=z, logits=x),
           lambda z, x: -np.take_along_axis(_log_softmax(x), z[..., None].astype(np.int64), -1)[..., 0],
           lambda rng: [rng.integers(0, 4, (2, 3)).astype(np.int32), rng.normal(0, 2, (2, 3, 4)).astype(np.float32)]),
    # CheckLabelRange passes labels at both ends of [0, n) (out-of-range ones: test_losses_metrics.py)
    OpSpec("sparse_softmax_ce_labels_at_range_ends",
           lambda z, x: tf.nn.sparse_softmax_cross_entropy_with_logits(labels=z, logits=x),
           lambda z, x: -np.take_along_axis(_log_softmax(x), z[:, None].astype(np.int64), -1)[:, 0],
           lambda rng: [np.array([0, 3, 3, 0], np.int32), rng.normal(0, 2, (4, 4)).astype(np.float32)]),
    OpSpec("sigmoid_ce", lambda z, x: tf.nn.sigmoid_cross_entropy_with_logits(labels=z, logits=x), _sigmoid_ce,
           lambda rng: [rng.uniform(0, 1, (4, 5)).astype(np.float32), rng.normal(0, 3, (4, 5)).astype(np.float32)]),
    OpSpec("sigmoid_ce_extreme_logits", lambda z, x: tf.nn.sigmoid_cross_entropy_with_logits(labels=z, logits=x),
           _sigmoid_ce, lambda rng: [np.array([0.0, 1.0, 0.5, 1.0], np.float32),
                                     np.array([-500.0, -500.0, 300.0, 300.0], np.float32)], grad=False),
    OpSpec("weighted_ce", lambda z, x: tf.nn.weighted_cross_entropy_with_logits(labels=z, logits=x, pos_weight=3.0),
           lambda z, x: (1 - z) * x + (1 + 2 * z) * (np.log1p(np.exp(-np.abs(x))) + np.maximum(-x, 0)),
           lambda rng: [rng.uniform(0, 1, (4, 5)).astype(np.float32), rng.normal(0, 3, (4, 5)).astype(np.float32)]),
    OpSpec("weighted_ce_targets_name",
           lambda z, x: tf.nn.weighted_cross_entropy_with_logits(targets=z, logits=x, pos_weight=0.5),
           lambda z, x: (1 - z) * x + (1 - 0.5 * z) * np.logaddexp(0, -x), _labels_logits((3, 4))),
    # losses and normalization
    OpSpec("l2_loss", tf.nn.l2_loss, lambda x: np.sum(x * x) / 2, _f((3, 4))),
    OpSpec("l2_normalize", lambda x: tf.nn.l2_normalize(x, axis=1),
           lambda x: x / np.sqrt(np.maximum((x * x).sum(1, keepdims=True), 1e-12)), _f((4, 5))),
    OpSpec("l2_normalize_all_axes_dim", lambda x: tf.nn.l2_normalize(x, dim=[0, 1]),
           lambda x: x / np.sqrt((x * x).sum()), _f((3, 2))),
    OpSpec("bias_add", tf.nn.bias_add, lambda x, b: x + b, _f((2, 3, 4), (4,))),
    OpSpec("bias_add_nchw", lambda x, b: tf.nn.bias_add(x, b, data_format="NCHW"),
           lambda x, b: x + b[:, None, None], _f((2, 3, 4, 5), (3,))),
    OpSpec("xw_plus_b", tf.nn.xw_plus_b, lambda x, w, b: x @ w + b, _f((3, 4), (4, 2), (2,))),
    OpSpec("relu_layer", tf.nn.relu_layer, lambda x, w, b: np.maximum(x @ w + b, 0),
           lambda rng: [rng.uniform(0.1, 1, (3, 4)).astype(np.float32), rng.uniform(0.1, 1, (4, 2)).astype(np.float32),
                        rng.uniform(0.1, 1, 2).astype(np.float32)]),
    OpSpec("moments", lambda x: tf.nn.moments(x, axes=[0, 1]), lambda x: [x.mean((0, 1)), x.var((0, 1))],
           _f((3, 4, 2))),
    OpSpec("moments_keep_dims", lambda x: tf.nn.moments(x, axes=[1], keep_dims=True),
           lambda x: [x.mean(1, keepdims=True), x.var(1, keepdims=True)], _f((3, 4))),
    OpSpec("batch_normalization", lambda x, m, v, o, s: tf.nn.batch_normalization(x, m, v, o, s, 1e-3),
           lambda x, m, v, o, s: (x - m) / np.sqrt(v + 1e-3) * s + o,
           lambda rng: [rng.normal(0, 2, (2, 3, 4)).astype(np.float32), rng.normal(0, 1, 4).astype(np.float32),
                        rng.uniform(0.5, 2, 4).astype(np.float32), rng.normal(0, 1, 4).astype(np.float32),
                        rng.uniform(0.5, 1.5, 4).astype(np.float32)], rtol=1e-4),
    OpSpec("batch_normalization_no_scale_offset", lambda x, m, v: tf.nn.batch_normalization(x, m, v, None, None, 0.01),
           lambda x, m, v: (x - m) / np.sqrt(v + 0.01),
           lambda rng: [rng.normal(0, 2, (3, 4)).astype(np.float32), rng.normal(0, 1, 4).astype(np.float32),
                        rng.uniform(0.5, 2, 4).astype(np.float32)], rtol=1e-4),
    OpSpec("fused_batch_norm_train_outputs", lambda x, s, o: list(tf.nn.fused_batch_norm(x, s, o, epsilon=1e-3)),
           _fused_ref, _bn_inputs((2, 3, 3, 4)), grad=False, rtol=1e-4, atol=1e-5),
    OpSpec("fused_batch_norm_train_y", lambda x, s, o: tf.nn.fused_batch_norm(x, s, o, epsilon=1e-3)[0],
           lambda x, s, o: _fused_ref(x, s, o)[0], _bn_inputs((2, 3, 3, 4)), rtol=1e-4, atol=1e-5),
    OpSpec("fused_batch_norm_train_unknown_shape", lambda x, s, o: list(tf.nn.fused_batch_norm(x, s, o, epsilon=1e-3)),
           _fused_ref, _bn_inputs((2, 3, 3, 4)), grad=False, rtol=1e-4, atol=1e-5, static_shape=False),
    OpSpec("fused_batch_norm_train_nchw",
           lambda x, s, o: tf.nn.fused_batch_norm(x, s, o, epsilon=1e-3, data_format="NCHW")[0],
           lambda x, s, o: _fused_ref(x.transpose(0, 2, 3, 1), s, o)[0].transpose(0, 3, 1, 2),
           _bn_inputs((2, 4, 3, 3), channels_axis=1), rtol=1e-4, atol=1e-5),
    OpSpec("fused_batch_norm_inference",
           lambda x, s, o, m, v: tf.nn.fused_batch_norm(x, s, o, m, v, epsilon=1e-3, is_training=False)[0],
           lambda x, s, o, m, v: (x - m) / np.sqrt(v + 1e-3) * s + o,
           lambda rng: _bn_inputs((2, 3, 3, 4))(rng) + [rng.normal(0, 1, 4).astype(np.float32),
                                                         rng.uniform(0.5, 2, 4).astype(np.float32)],
           grad_inputs=(0, 1, 2), rtol=1e-4, atol=1e-5),
    # top_k / in_top_k
    OpSpec("top_k", lambda x: list(tf.nn.top_k(x, k=3)),
           lambda x: [-np.sort(-x, -1)[..., :3], np.argsort(-x, -1, kind="stable")[..., :3].astype(np.int32)],
           distinct_inputs((4, 6), centered=True)),
    OpSpec("top_k_rank3_k1_unknown_shape", lambda x: list(tf.nn.top_k(x)),
           lambda x: [x.max(-1, keepdims=True), x.argmax(-1)[..., None].astype(np.int32)],
           distinct_inputs((2, 3, 5), centered=True), static_shape=False),
    OpSpec("top_k_ties_lower_index_first", lambda x: list(tf.nn.top_k(x, k=4)),
           lambda x: [np.array([[3, 3, 2, 2], [1, 1, 1, 1]], np.float32),
                      np.array([[1, 3, 0, 4], [0, 1, 2, 3]], np.int32)],
           lambda rng: [np.array([[2, 3, 1, 3, 2], [1, 1, 1, 1, 1]], np.float32)], grad=False),
    OpSpec("top_k_int32", lambda x: list(tf.nn.top_k(x, k=2)),
           lambda x: [np.array([9, 5], np.int32), np.array([2, 0], np.int32)],
           lambda rng: [np.array([5, 1, 9, 5], np.int32)], grad=False),
    OpSpec("in_top_k", lambda p, t: tf.nn.in_top_k(p, t, 2),
           lambda p, t: np.array([True, True, False, True, False]),
           lambda rng: [np.array([[0.1, 0.9, 0.5], [0.5, 0.5, 0.5], [0.3, 0.2, 0.1], [1.0, 2.0, 3.0],
                                  [np.nan, 1.0, 2.0]], np.float32),
                        np.array([2, 0, 2, 1, 0], np.int32)], grad=False),
    OpSpec("in_top_k_out_of_range_target", lambda p, t: tf.nn.in_top_k(p, t, 3),
           lambda p, t: np.array([False, True]),
           lambda rng: [np.array([[0.1, 0.9, 0.5], [0.5, 0.5, 0.5]], np.float32), np.array([3, 1], np.int32)],
           grad=False),
    OpSpec("zero_fraction", tf.nn.zero_fraction, lambda x: np.float32(np.mean(x == 0)),
           lambda rng: [np.array([[0, 1, 0], [2, 0, 3]], np.float32)], grad=False),
]


def _table_ids(*sizes, ids_shape=(2, 3), dim=3):
    def gen(rng):
        total = sum(sizes)
        return [rng.normal(0, 1, (s, dim)).astype(np.float32) for s in sizes] + \
               [rng.integers(0, total, ids_shape).astype(np.int32)]
    return gen


def _mod_table(*shards):
    n = len(shards)
    total = sum(len(s) for s in shards)
    return np.stack([shards[i % n][i // n] for i in range(total)])


SPECS += [
    OpSpec("embedding_lookup", tf.nn.embedding_lookup, lambda p, ids: p[ids], _table_ids(5)),
    OpSpec("embedding_lookup_mod_shards", lambda a, b, ids: tf.nn.embedding_lookup([a, b], ids),
           lambda a, b, ids: _mod_table(a, b)[ids], _table_ids(3, 2)),
    OpSpec("embedding_lookup_div_shards",
           lambda a, b, c, ids: tf.nn.embedding_lookup([a, b, c], ids, partition_strategy="div"),
           lambda a, b, c, ids: np.concatenate([a, b, c])[ids], _table_ids(3, 3, 2, ids_shape=(7,))),
    OpSpec("embedding_lookup_max_norm", lambda p, ids: tf.nn.embedding_lookup(p, ids, max_norm=1.0),
           lambda p, ids: p[ids] / np.maximum(np.linalg.norm(p[ids], axis=-1, keepdims=True), 1.0),
           _table_ids(6, ids_shape=(4,))),
]

for _s in SPECS:  # one prefix, so `pytest -k nn_` selects this family
    _s.name = _s.name if _s.name.startswith("nn_") else "nn_" + _s.name
