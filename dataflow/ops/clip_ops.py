"""Clipping (``tf.clip_by_value``, ``tf.clip_by_norm``, ``tf.clip_by_global_norm``, ``tf.global_norm``).

All composed from primitives (minimum/maximum, reductions, sqrt, where), so their gradients come from
those primitives' rules: inside the clip range ``clip_by_value`` passes the gradient through, outside it
passes zero; ``clip_by_norm`` differentiates through the norm when it clips.
"""

from __future__ import annotations

from collections.abc import Sequence

from ..framework.graph import Tensor, convert_to_tensor, name_scope
from ..framework.indexed_slices import IndexedSlices
from . import math as m
from .array import identity, ones_like
from .reduction import reduce_sum

__all__ = ["clip_by_average_norm", "clip_by_global_norm", "clip_by_norm", "clip_by_value", "global_norm"]


def clip_by_value(t, clip_value_min, clip_value_max, name=None) -> Tensor:
    """``t`` with values below ``clip_value_min`` raised to it and above ``clip_value_max`` lowered to it.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.clip_by_value([-2.0, 0.5, 3.0], -1.0, 1.0))
    array([-1. ,  0.5,  1. ], dtype=float32)
    """
    with name_scope(name, "clip_by_value", [t, clip_value_min, clip_value_max]) as scope:
        t = convert_to_tensor(t, name="t")
        t_min = m.minimum(t, clip_value_max)
        if not t_min.shape.is_compatible_with(t.shape):
            raise ValueError(f"clip_by_value: clip_value_max of shape {t_min.shape} would broadcast t of shape "
                             f"{t.shape}")
        t_max = m.maximum(t_min, clip_value_min, name=scope)
        if not t_max.shape.is_compatible_with(t.shape):
            raise ValueError(f"clip_by_value: clip_value_min of shape {t_max.shape} would broadcast t of shape "
                             f"{t.shape}")
        return t_max


def clip_by_norm(t, clip_norm, axes=None, name=None) -> Tensor:
    """``t * clip_norm / max(l2norm(t), clip_norm)``: ``t`` rescaled so its L2 norm is at most ``clip_norm``.

    With ``axes``, the norm is taken along those axes only (each slice clipped on its own).

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.clip_by_norm([3.0, 4.0], 1.0))
    array([0.6, 0.8], dtype=float32)
    """
    with name_scope(name, "clip_by_norm", [t, clip_norm]) as scope:
        values = convert_to_tensor(t, name="t")
        l2sum = reduce_sum(values * values, axes, keepdims=True)
        # NOTE: two-sided where: sqrt is never evaluated at 0, so a zero t gets a zero (not NaN) gradient
        pred = l2sum > 0
        l2sum_safe = m.where_v2(pred, l2sum, ones_like(l2sum))
        l2norm = m.where_v2(pred, m.sqrt(l2sum_safe), l2sum)
        intermediate = values * clip_norm
        if not values.shape.is_compatible_with(intermediate.shape):
            raise ValueError(f"clip_by_norm: clip_norm would broadcast t of shape {values.shape} to "
                             f"{intermediate.shape}")
        return identity(intermediate / m.maximum(l2norm, clip_norm), name=scope)


def global_norm(t_list, name=None) -> Tensor:
    """``sqrt(sum(||t||^2 for t in t_list))``; None entries are skipped.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.global_norm([tf.constant([3.0]), tf.constant([4.0])]))
    5.0
    """
    if not isinstance(t_list, Sequence) or isinstance(t_list, str):
        raise TypeError("t_list should be a sequence")
    t_list = list(t_list)
    with name_scope(name, "global_norm", [t for t in t_list if t is not None]) as scope:
        # NOTE: as TF, an IndexedSlices counts by its values (repeated rows are not summed first)
        values = [convert_to_tensor(t.values if isinstance(t, IndexedSlices) else t, name=f"t_{i}")
                  for i, t in enumerate(t_list) if t is not None]
        if not values:
            raise ValueError("global_norm needs at least one tensor that is not None")
        squared = [reduce_sum(m.square(v)) for v in values]
        total = m.add_n(squared) if len(squared) > 1 else squared[0]
        return m.sqrt(total, name=scope)


def clip_by_global_norm(t_list, clip_norm, use_norm=None, name=None):
    """Rescale every tensor of ``t_list`` by ``clip_norm / max(global_norm, clip_norm)``.

    Returns ``(clipped_list, global_norm)``: the norm is the one before clipping (``use_norm`` if
    given). A non-finite norm makes every clipped value NaN, as in TF. None entries stay None.

    Examples
    --------
    >>> import dataflow as tf
    >>> clipped, norm = tf.clip_by_global_norm([tf.constant([3.0]), tf.constant([4.0])], 1.0)
    >>> tf.Session().run([clipped, norm])
    [[array([0.6], dtype=float32), array([0.8], dtype=float32)], 5.0]
    """
    if not isinstance(t_list, Sequence) or isinstance(t_list, str):
        raise TypeError("t_list should be a sequence")
    t_list = list(t_list)
    if use_norm is None:
        use_norm = global_norm(t_list, name)
    use_norm = convert_to_tensor(use_norm)
    with name_scope(name, "clip_by_global_norm", [t for t in t_list if t is not None] + [clip_norm]):
        clip_norm = m.cast(clip_norm, use_norm.dtype)
        # NOTE: clip_norm * min(1 / norm, 1 / clip_norm) rather than clip_norm / max(norm, clip_norm): the same
        # value, TF's rounding; adding (norm - norm) turns an inf or NaN norm into a NaN scale.
        scale = clip_norm * m.minimum(1.0 / use_norm, 1.0 / clip_norm) + (use_norm - use_norm)
        clipped = []
        for i, t in enumerate(t_list):
            if t is None:
                clipped.append(None)
                continue
            if isinstance(t, IndexedSlices):  # stays sparse: only its rows are scaled
                values = identity(t.values * m.cast(scale, t.dtype), name=f"clip_by_global_norm_{i}")
                clipped.append(IndexedSlices(values, t.indices, t.dense_shape))
                continue
            t = convert_to_tensor(t, name=f"t_{i}")
            clipped.append(identity(t * m.cast(scale, t.dtype), name=f"clip_by_global_norm_{i}"))
        return clipped, use_norm


def clip_by_average_norm(t, clip_norm, name=None) -> Tensor:
    """``t * clip_norm / max(l2norm(t) / size(t), clip_norm)`` (TF1's deprecated average-norm clip)."""
    from .array import size

    with name_scope(name, "clip_by_average_norm", [t, clip_norm]) as scope:
        t = convert_to_tensor(t, name="t")
        n = m.cast(size(t), t.dtype)
        l2norm_inv = m.rsqrt(reduce_sum(t * t))
        return identity(t * clip_norm * m.minimum(l2norm_inv * n, 1.0 / clip_norm), name=scope)
