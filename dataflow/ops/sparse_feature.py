"""``tf.io.SparseFeature`` in ``parse_example``, and ``SparseReorder`` (``tf.sparse.reorder``).

A SparseFeature is parsed as TensorFlow does it (``parsing_config`` then ``sparse_merge_impl``): its
index feature(s) and its value feature are parsed as ``VarLenFeature``s, then merged into one
SparseTensor whose indices are ``[batch index, index values...]`` (the batch column left out for a
single example) and whose dense shape is ``[batch] + size``; unless ``already_sorted``, the entries are
put in row-major order by ``SparseReorder``. Helper keys the caller did not ask for are dropped.
"""

from __future__ import annotations

import collections

import numpy as np

from ..framework import dtypes
from ..framework.graph import convert_to_tensor, make_op, name_scope
from ..framework.registry import OpDef, register
from ..framework.sparse_tensor import SparseTensor


class SparseFeature(collections.namedtuple("SparseFeature",
                                           ["index_key", "value_key", "dtype", "size", "already_sorted"])):
    """A sparse feature from an index feature (or a list of them) and a value feature (TF's).

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.io.SparseFeature(index_key="ix", value_key="val", dtype=tf.float32, size=100).size
    100
    """

    def __new__(cls, index_key, value_key, dtype, size, already_sorted=False):
        return super().__new__(cls, index_key, value_key, dtype, size, already_sorted)


# ---- SparseReorder ----------------------------------------------------------------------------------
def _reorder_kernel(xp, indices, values, shape):
    indices = np.asarray(indices)
    order = np.lexsort(indices.T[::-1]) if indices.size else np.arange(len(indices))
    return indices[order], np.asarray(values)[order]


register(OpDef("SparseReorder", lambda op: [(dtypes.int64, op.inputs[0].shape), (op.inputs[1].dtype, op.inputs[1].shape)],
               _reorder_kernel, differentiable=False))


def sparse_reorder(sp_input: SparseTensor, name=None) -> SparseTensor:
    """The same SparseTensor with its entries in row-major (canonical) order (``tf.sparse.reorder``)."""
    with name_scope(name, "SparseReorder", [sp_input.indices, sp_input.values]):
        op = make_op("SparseReorder", [sp_input.indices, sp_input.values, sp_input.dense_shape])
    return SparseTensor(op.outputs[0], op.outputs[1], sp_input.dense_shape)


# ---- in parse_example -------------------------------------------------------------------------------
def expand(features: dict) -> tuple[dict, dict]:
    """``(features with every SparseFeature replaced by VarLenFeatures of its keys, {key: SparseFeature})``."""
    from .parsing_ops import VarLenFeature

    plain = {k: v for k, v in features.items() if not isinstance(v, SparseFeature)}
    sparse = {k: v for k, v in features.items() if isinstance(v, SparseFeature)}
    for key, spec in sparse.items():
        index_keys = spec.index_key if isinstance(spec.index_key, (list, tuple)) else [spec.index_key]
        sizes = spec.size if isinstance(spec.size, (list, tuple)) else [spec.size]
        if len(sizes) != len(index_keys):
            raise ValueError(f"SparseFeature {key}: index_key and size must have the same length, got "
                             f"{index_keys} and {sizes}")
        wanted = [(k, VarLenFeature(dtypes.int64)) for k in index_keys]
        wanted.append((spec.value_key, VarLenFeature(dtypes.as_dtype(spec.dtype))))
        for k, feature in wanted:
            if k in plain and plain[k] != feature:
                raise ValueError(f"Conflicting type for feature {k}: {plain[k]!r} and {feature!r} "
                                 f"(from SparseFeature {key})")
            plain[k] = feature
    return plain, sparse


def combine(parsed: dict, sparse: dict, requested) -> dict:
    """Merge the parsed helper features into each SparseFeature's SparseTensor (TF's sparse_merge_impl)."""
    from .array import expand_dims
    from .indexing import concat
    from .math import cast

    out = dict(parsed)
    for key, spec in sparse.items():
        index_keys = spec.index_key if isinstance(spec.index_key, (list, tuple)) else [spec.index_key]
        sizes = spec.size if isinstance(spec.size, (list, tuple)) else [spec.size]
        ids = [parsed[k] for k in index_keys]
        values = parsed[spec.value_key]
        with name_scope(f"SparseFeature_{key}".replace("/", "_")):
            keep = ids[0].indices[:, :-1]
            indices = concat([keep] + [expand_dims(cast(i.values, dtypes.int64), 1) for i in ids], 1)
            shape = concat([ids[0].dense_shape[:-1], convert_to_tensor(list(sizes), dtype=dtypes.int64)], 0)
            result = SparseTensor(indices, values.values, shape)
            if not spec.already_sorted:
                result = sparse_reorder(result)
        out[key] = result
    for k in list(out):
        if k not in requested:
            del out[k]
    return out


