"""``tf.parse_single_sequence_example``: a ``tf.train.SequenceExample`` into context and sequence tensors.

One host primitive, ``ParseSingleSequenceExample``. The context features are an Example's features and
go through :func:`parsing_ops.parse_features`. Each feature list is a list of ``Feature`` messages, one
per time step:

- ``FixedLenSequenceFeature(shape)``: every step holds ``prod(shape)`` values: a ``[steps] + shape``
  tensor (``[0] + shape`` for a missing list when ``allow_missing``, else TF's InvalidArgumentError);
- ``VarLenFeature``: a ``SparseTensor`` with indices ``(step, j)`` and dense shape ``[steps, longest]``.

Outputs, in order: the context's (sparse indices, values, shapes, dense values), then the feature
lists' in the same order. Messages are TensorFlow's (``Feature list 'x' is required but could not be
found.``, ``Key: x, Index: 2.  Number of values != expected.``).
"""

from __future__ import annotations

import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import convert_to_tensor, make_op, name_scope
from ..framework.registry import OpDef, register
from .parsing_ops import (
    _KIND_TYPE, _KINDS, FixedLenSequenceFeature, VarLenFeature, _proto, config, features_result,
    features_specs, parse_features)

__all__ = ["parse_single_sequence_example"]


def _bad(msg: str) -> errors.InvalidArgumentError:
    return errors.InvalidArgumentError(None, None, msg)


def _steps(lists, key: str, dtype, name: str) -> list:
    """The value lists of a feature list's steps; TF's error for a step of another kind."""
    kind = _KINDS[dtype]
    out = []
    for t, step in enumerate(lists[key].feature):
        got = step.WhichOneof("kind")
        if got is not None and got != kind:
            raise _bad(f"Name: {name}, Feature list: {key}, Index: {t}.  Data types don't match. "
                       f"Expected type: {_KIND_TYPE[kind]}")
        out.append(getattr(step, kind).value if got else ())
    return out


def _array(flat: list, dtype) -> np.ndarray:
    if dtype is dtypes.string:
        out = np.empty(len(flat), dtype=object)
        out[:] = flat
        return out
    return np.array(flat, dtype=dtype.as_numpy_dtype).reshape(len(flat))


def _dense_list(lists, key, dtype, shape, allow_missing, name):
    if key not in lists:
        if not allow_missing:
            raise _bad(f"Name: {name}, Feature list '{key}' is required but could not be found.  Did you mean "
                       "to include it in feature_list_dense_missing_assumed_empty or feature_list_dense_defaults?")
        return np.zeros((0,) + shape, dtype=object if dtype is dtypes.string else dtype.as_numpy_dtype)
    size = int(np.prod(shape))
    flat: list = []
    for t, vals in enumerate(_steps(lists, key, dtype, name)):
        if len(vals) != size:
            raise _bad(f"Name: {name}, Key: {key}, Index: {t}.  Number of values != expected.  values size: "
                       f"{len(vals)} but output shape: [{','.join(map(str, shape))}]")
        flat.extend(vals)
    return _array(flat, dtype).reshape((len(lists[key].feature),) + shape)


def _sparse_list(lists, key, dtype, name):
    rows = _steps(lists, key, dtype, name) if key in lists else []
    counts = np.array([len(r) for r in rows], dtype=np.int64)
    flat = [v for r in rows for v in r]
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    index = np.stack([np.repeat(np.arange(len(rows), dtype=np.int64), counts),
                      np.arange(len(flat), dtype=np.int64) - starts], axis=1).reshape(len(flat), 2)
    shape = np.array([len(rows), int(counts.max()) if len(rows) else 0], dtype=np.int64)
    return index, _array(flat, dtype), shape


def _kernel(xp, serialized, *, context, seq_sparse_keys, seq_sparse_types, seq_dense_keys, seq_dense_types,
            seq_dense_shapes, seq_allow_missing, name):
    from google.protobuf.message import DecodeError

    data = bytes(np.asarray(serialized, dtype=object).item())
    try:
        example = _proto().SequenceExample.FromString(data)
    except (DecodeError, ValueError):
        raise _bad(f"Could not parse example input, value: '{data[:200]!r}'") from None
    ctx = example.context.feature
    for key, default in zip(context["dense_keys"], context["dense_defaults"]):
        if default is None and key not in ctx:      # TF 2.21's message for a missing context feature
            raise _bad(f"Inconsistent max number of elements for feature {key}: expected 1, but found 0")
    outs = parse_features([ctx], context, single=True)
    lists = example.feature_lists.feature_list
    sparse = [_sparse_list(lists, k, t, name) for k, t in zip(seq_sparse_keys, seq_sparse_types)]
    outs += [s[0] for s in sparse] + [s[1] for s in sparse] + [s[2] for s in sparse]
    outs += [_dense_list(lists, k, t, shape, ok, name)
             for k, t, shape, ok in zip(seq_dense_keys, seq_dense_types, seq_dense_shapes, seq_allow_missing)]
    return tuple(outs) if len(outs) != 1 else outs[0]


def _infer(op):
    a = op.attrs
    seq = {"sparse_keys": a["seq_sparse_keys"], "sparse_types": a["seq_sparse_types"],
           "dense_types": a["seq_dense_types"], "dense_shapes": a["seq_dense_shapes"],
           "dense_seq": (True,) * len(a["seq_dense_keys"])}
    return features_specs(a["context"], [], 1) + features_specs(seq, [], 2)


register(OpDef("ParseSingleSequenceExample", _infer, _kernel, differentiable=False))


def parse_single_sequence_example(serialized, context_features=None, sequence_features=None,
                                  example_name=None, name=None):
    """Parse one serialized ``SequenceExample`` (``tf.parse_single_sequence_example``).

    Parameters
    ----------
    serialized : scalar string Tensor
        A serialized ``tf.train.SequenceExample``.
    context_features : dict, optional
        Key -> ``FixedLenFeature`` or ``VarLenFeature`` for ``context``.
    sequence_features : dict, optional
        Key -> ``FixedLenSequenceFeature`` or ``VarLenFeature`` for ``feature_lists``.
    example_name : str, optional
        The example's name in error messages.
    name : str, optional
        The op's name scope.

    Returns
    -------
    tuple of dict
        ``(context, sequences)``: Tensors and SparseTensors by key.

    Examples
    --------
    >>> import dataflow as tf
    >>> ex = tf.train.SequenceExample()
    >>> ex.feature_lists.feature_list["tok"].feature.add().int64_list.value.extend([4, 5])
    >>> ctx, seq = tf.parse_single_sequence_example(
    ...     ex.SerializeToString(), sequence_features={"tok": tf.FixedLenSequenceFeature([2], tf.int64)})
    >>> tf.Session().run(seq["tok"])
    array([[4, 5]])
    """
    context = config(context_features or {}, single=True, allow_empty=True)
    sparse, dense = [], []
    for key in sorted(sequence_features or {}):
        spec = sequence_features[key]
        if isinstance(spec, VarLenFeature):
            sparse.append((key, dtypes.as_dtype(spec.dtype)))
        elif isinstance(spec, FixedLenSequenceFeature):
            dense.append((key, dtypes.as_dtype(spec.dtype), tuple(int(d) for d in spec.shape),
                          bool(spec.allow_missing)))
        else:
            raise ValueError(f"Invalid sequence feature {key}:{spec!r}: FixedLenSequenceFeature or VarLenFeature")
    if not (context["sparse_keys"] or context["dense_keys"] or sparse or dense):
        raise ValueError("Missing features.")
    attrs = {"context": context, "seq_sparse_keys": tuple(k for k, _ in sparse),
             "seq_sparse_types": tuple(t for _, t in sparse), "seq_dense_keys": tuple(d[0] for d in dense),
             "seq_dense_types": tuple(d[1] for d in dense), "seq_dense_shapes": tuple(d[2] for d in dense),
             "seq_allow_missing": tuple(d[3] for d in dense), "name": example_name or "<unknown>"}
    with name_scope(name, "ParseSingleSequenceExample", [serialized]) as scope:
        s = convert_to_tensor(serialized, dtype=dtypes.string)
        if s.shape.ndims not in (None, 0):
            raise ValueError(f"serialized must be a scalar, got shape {s.shape}")
        outs = list(make_op("ParseSingleSequenceExample", [s], attrs, scope).outputs)
    n_ctx = 3 * len(context["sparse_keys"]) + len(context["dense_keys"])
    seq_attrs = {"sparse_keys": attrs["seq_sparse_keys"], "dense_keys": attrs["seq_dense_keys"]}
    return features_result(outs[:n_ctx], context), features_result(outs[n_ctx:], seq_attrs)

