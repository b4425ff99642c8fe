"""Parsing ops: ``tf.parse_example`` / ``tf.parse_single_example`` over ``tf.train.Example`` protos.

Kernels run on the host with NumPy. Strings are NumPy object arrays of ``bytes`` (``dtypes.string``).

``ParseExample`` (batched) and ``ParseSingleExample`` are one kernel. Its configuration is attrs, fixed
when the graph is built: the sparse keys and types (``VarLenFeature``), the dense keys, types, shapes
and defaults (``FixedLenFeature``, and ``FixedLenSequenceFeature`` marked ``dense_seq``). Outputs are in
TF's order: every sparse feature's indices, then values, then dense shapes, then every dense value.

The kernel parses the whole batch of serialized ``Example`` protos in one call of the installed
protobuf runtime (upb: C), then, per feature, gathers every example's values into one flat list (one
``extend`` per example) and builds the output with one NumPy call. Errors are TF's ``InvalidArgumentError`` with
TF's messages (``Name: <unknown>, Feature: x (data type: int64) is required but could not be found.``);
the runtime adds the op's name and the user's line.

``parse_example`` returns a dict: ``SparseTensor`` for ``VarLenFeature``, dense ``Tensor`` otherwise.
"""

from __future__ import annotations

import collections

import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import convert_to_tensor, make_op, name_scope
from ..framework.registry import OpDef, register
from ..framework.sparse_tensor import SparseTensor
from ..framework.tensor_shape import TensorShape

__all__ = ["FixedLenFeature", "FixedLenSequenceFeature", "VarLenFeature", "parse_example",
           "parse_single_example"]


class FixedLenFeature(collections.namedtuple("FixedLenFeature", ["shape", "dtype", "default_value"])):
    """A feature with ``prod(shape)`` values in every example (``default_value`` where it is missing).

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.FixedLenFeature([2], tf.float32, default_value=[0.0, 0.0]).shape
    [2]
    """

    def __new__(cls, shape, dtype, default_value=None):
        return super().__new__(cls, shape, dtype, default_value)


class FixedLenSequenceFeature(collections.namedtuple(
        "FixedLenSequenceFeature", ["shape", "dtype", "allow_missing", "default_value"])):
    """A feature with any number of ``shape``-sized rows per example, padded to the batch's longest
    (with ``default_value``, else 0 or b""). ``parse_example`` needs ``allow_missing=True`` (as TF)."""

    def __new__(cls, shape, dtype, allow_missing=False, default_value=None):
        return super().__new__(cls, shape, dtype, allow_missing, default_value)


class VarLenFeature(collections.namedtuple("VarLenFeature", ["dtype"])):
    """A feature with any number of values per example, parsed as a ``SparseTensor``."""


_KINDS = {dtypes.int64: "int64_list", dtypes.float32: "float_list", dtypes.string: "bytes_list"}
_KIND_TYPE = {"int64_list": "int64", "float_list": "float", "bytes_list": "string"}


def _proto():
    from pipelines import example  # noqa: PLC0415  (protobuf is imported when parsing first runs)

    return example


def _varint(n: int) -> bytes:
    out = bytearray()
    while n > 0x7F:
        out.append((n & 0x7F) | 0x80)
        n >>= 7
    out.append(n)
    return bytes(out)


class _Feature:
    """One feature of the configuration, as the kernel reads it."""

    __slots__ = ("key", "dtype", "kind", "shape", "size", "default", "seq")

    def __init__(self, key, dtype, shape=(), default=None, seq=False):
        self.key, self.dtype, self.kind = key, dtype, _KINDS[dtype]
        self.shape, self.size, self.default, self.seq = tuple(shape), int(np.prod(shape)), default, seq


def _where(names, b: int, single: bool) -> str:
    return "" if single else f"Name: {names[b] if names else '<unknown>'}, "


def _key_at(f: _Feature, names, b: int, single: bool) -> str:
    return f"Key: {f.key}." if single else f"{_where(names, b, single)}Key: {f.key}, Index: {b}."


def _values(f: _Feature, ex_features, b: int, names, single: bool, sparse: bool):
    """Example ``b``'s value list for ``f`` (None when missing); InvalidArgumentError on a wrong kind."""
    feature = ex_features.get(f.key)
    kind = feature.WhichOneof("kind") if feature is not None else None
    if kind is None:
        return None
    if kind != f.kind:
        at, got, want = _key_at(f, names, b, single), _KIND_TYPE[kind], _KIND_TYPE[f.kind]
        msg = (f"{at}  Data types don't match. Expected type: {want}, Actual type: {got}" if sparse else
               f"{at}  Data types don't match. Data type: {got} but expected type: {want}")
        raise errors.InvalidArgumentError(None, None, msg)
    return getattr(feature, kind).value


def _np_dtype(dtype):
    return object if dtype is dtypes.string else dtype.as_numpy_dtype


def _array(rows: list, dtype, total: int) -> np.ndarray:
    if dtype is dtypes.string:
        out = np.empty(total, dtype=object)
        i = 0
        for r in rows:
            out[i:i + len(r)] = list(r)
            i += len(r)
        return out
    flat = [v for r in rows for v in r] if len(rows) != 1 else list(rows[0])
    return np.array(flat, dtype=dtype.as_numpy_dtype).reshape(total)


def _dense(f: _Feature, examples, names, single: bool) -> np.ndarray:
    if not f.seq:
        # NOTE: the fast path reads the expected list directly: a feature of another kind reads as an
        # empty list there, so any count but the expected one takes the slow path, which diagnoses it.
        key, kind, size = f.key, f.kind, f.size
        flat: list = []
        take = flat.append if size == 1 else flat.extend
        for b, ex in enumerate(examples):
            feature = ex.get(key)
            if feature is not None:
                vals = getattr(feature, kind).value
                if len(vals) == size:
                    take(vals[0] if size == 1 else vals)
                    continue
            vals = _dense_row(f, ex, b, names, single)
            take(vals[0] if size == 1 else vals)
        if f.dtype is dtypes.string:
            out = np.empty(len(flat), dtype=object)
            out[:] = flat
        else:
            out = np.array(flat, dtype=f.dtype.as_numpy_dtype)
        return out.reshape((len(examples),) + f.shape)
    rows = [_dense_row(f, ex, b, names, single) for b, ex in enumerate(examples)]
    counts = [len(r) // max(f.size, 1) for r in rows]
    longest = max(counts, default=0)
    pad = f.default if f.default is not None else (b"" if f.dtype is dtypes.string else 0)
    out = np.full((len(rows), longest) + f.shape, pad, dtype=_np_dtype(f.dtype))
    flat_rows = out.reshape(len(rows), -1)
    for b, r in enumerate(rows):
        if len(r):
            flat_rows[b, :len(r)] = _array([r], f.dtype, len(r))
    return out


def _dense_row(f: _Feature, ex, b: int, names, single: bool):
    """Example ``b``'s values of a dense feature: its list, its default, or TF's error."""
    vals = _values(f, ex, b, names, single, sparse=False)
    if vals is None or (f.seq and len(vals) == 0):
        if f.seq:
            return ()
        if f.default is None:
            raise errors.InvalidArgumentError(
                None, None, f"{_where(names, b, single)}Feature: {f.key} (data type: {f.dtype.name}) "
                            "is required but could not be found.")
        return f.default.reshape(-1).tolist() if f.dtype is not dtypes.string else list(f.default.reshape(-1))
    n = len(vals)
    if f.seq:
        if f.size and n % f.size:
            raise errors.InvalidArgumentError(
                None, None, f"{_key_at(f, names, b, single)}  Number of {_KIND_TYPE[f.kind]} values is "
                            f"not a multiple of stride length. Saw {n} values but output shape is: "
                            f"[?,{','.join(map(str, f.shape))}]")
    elif n != f.size:
        raise errors.InvalidArgumentError(
            None, None, f"{_key_at(f, names, b, single)}  Number of {_KIND_TYPE[f.kind]} values != "
                        f"expected.  Values size: {n} but output shape: [{','.join(map(str, f.shape))}]")
    return vals


def _sparse(f: _Feature, examples, names, single: bool):
    key, kind = f.key, f.kind
    flat: list = []
    counts = np.zeros(len(examples), dtype=np.int64)
    for b, ex in enumerate(examples):
        feature = ex.get(key)
        if feature is None:
            continue
        vals = getattr(feature, kind).value
        if not vals:
            _values(f, ex, b, names, single, sparse=True)          # an empty list, or another kind: TF's error
        counts[b] = len(vals)
        flat.extend(vals)
    total = len(flat)
    if f.dtype is dtypes.string:
        values = np.empty(total, dtype=object)
        values[:] = flat
    else:
        values = np.array(flat, dtype=f.dtype.as_numpy_dtype).reshape(total)
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    index = np.arange(total, dtype=np.int64) - starts
    longest = int(counts.max()) if len(examples) else 0
    if single:
        return index.reshape(-1, 1), values, np.array([longest], dtype=np.int64)
    batch = np.repeat(np.arange(len(examples), dtype=np.int64), counts)
    return np.stack([batch, index], axis=1), values, np.array([len(examples), longest], dtype=np.int64)


def _parse_all(serialized: list, names) -> list:
    """Each serialized Example's feature map. The batch is parsed in one protobuf call, as the
    repeated field of an ``ExampleBatch`` (each record prefixed with its field tag and length); if that
    fails, each record alone, to name the bad one."""
    from google.protobuf.message import DecodeError

    proto = _proto()
    try:
        wire = b"".join(b"\x0a" + _varint(len(s)) + s for s in serialized)
        return [ex.features.feature for ex in proto.ExampleBatch.FromString(wire).examples]
    except (DecodeError, TypeError, ValueError):
        pass
    out = []
    for s in serialized:
        try:
            out.append(proto.Example.FromString(s).features.feature)
        except (DecodeError, TypeError, ValueError):
            raise errors.InvalidArgumentError(
                None, None, f"Could not parse example input, value: '{bytes(s)[:200]!r}'") from None
    return out


def parse_features(examples: list, attrs: dict, names=None, single: bool = False) -> list:
    """The outputs (sparse indices, values, shapes, then dense values) for a list of feature maps."""
    sparse = [_sparse(_Feature(k, t), examples, names, single)
              for k, t in zip(attrs["sparse_keys"], attrs["sparse_types"])]
    dense = []
    for k, t, shape, default, seq in zip(attrs["dense_keys"], attrs["dense_types"], attrs["dense_shapes"],
                                         attrs["dense_defaults"], attrs["dense_seq"]):
        value = _dense(_Feature(k, t, shape, default, seq), examples, names, single)
        dense.append(value[0] if single else value)
    return [s[0] for s in sparse] + [s[1] for s in sparse] + [s[2] for s in sparse] + dense


def _parse_kernel(xp, serialized, *, sparse_keys, sparse_types, dense_keys, dense_types, dense_shapes,
                  dense_defaults, dense_seq, names, single):
    batch = [bytes(serialized.item())] if single else [bytes(s) for s in serialized.reshape(-1)]
    attrs = {"sparse_keys": sparse_keys, "sparse_types": sparse_types, "dense_keys": dense_keys,
             "dense_types": dense_types, "dense_shapes": dense_shapes, "dense_defaults": dense_defaults,
             "dense_seq": dense_seq}
    outs = parse_features(_parse_all(batch, names), attrs, names, single)
    return tuple(outs) if len(outs) != 1 else outs[0]


def _parse_infer(op):
    a = op.attrs
    single = a["single"]
    batch = [] if single else [op.inputs[0].shape[0] if op.inputs[0].shape.ndims == 1 else None]
    return features_specs(a, batch, 1 if single else 2)


def features_specs(a: dict, batch: list, rank: int) -> list:
    """Output (dtype, shape) pairs of :func:`parse_features` for a configuration ``a``."""
    specs = [(dtypes.int64, TensorShape([None, rank])) for _ in a["sparse_keys"]]
    specs += [(t, TensorShape([None])) for t in a["sparse_types"]]
    specs += [(dtypes.int64, TensorShape([rank])) for _ in a["sparse_keys"]]
    for t, shape, seq in zip(a["dense_types"], a["dense_shapes"], a["dense_seq"]):
        specs.append((t, TensorShape(batch + ([None] if seq else []) + list(shape))))
    return specs


register(OpDef("ParseExample", _parse_infer, _parse_kernel, differentiable=False))
register(OpDef("ParseSingleExample", _parse_infer, _parse_kernel, differentiable=False))


def config(features: dict, single: bool, allow_empty: bool = False) -> dict:
    """The op attrs of a ``{key: FixedLenFeature | VarLenFeature | FixedLenSequenceFeature}`` dict."""
    sparse, dense = [], []
    for key in sorted(features):
        spec = features[key]
        if isinstance(spec, VarLenFeature):
            sparse.append((key, dtypes.as_dtype(spec.dtype)))
            continue
        if not isinstance(spec, (FixedLenFeature, FixedLenSequenceFeature)):
            raise ValueError(f"Invalid feature {key}:{spec!r}.")
        dtype = dtypes.as_dtype(spec.dtype)
        if dtype not in _KINDS:
            raise ValueError(f"Unsupported dtype {dtype.name} for feature {key}: int64, float32 or string")
        shape = tuple(int(d) for d in spec.shape) if spec.shape is not None else ()
        seq = isinstance(spec, FixedLenSequenceFeature)
        if seq and not spec.allow_missing:
            raise ValueError("Unsupported: FixedLenSequenceFeature requires allow_missing to be True.")
        default = spec.default_value
        if default is not None:
            from .constant import to_numpy

            default = to_numpy(default, dtype)
            if seq:
                if default.size != 1:
                    raise ValueError(f"Padding value for {key} must be a scalar, got shape {default.shape}")
                default = default.reshape(()).item()
            elif default.size == 1 and int(np.prod(shape)) != 1:
                default = np.full(shape, default.reshape(()).item(), dtype=_np_dtype(dtype))
            elif default.size != int(np.prod(shape)):
                raise ValueError(f"Cannot reshape a tensor with {default.size} elements to shape "
                                 f"{list(shape)} (default_value of feature {key})")
            else:
                default = np.asarray(default).reshape(shape)
        dense.append((key, dtype, shape, default, seq))
    if not sparse and not dense and not allow_empty:
        raise ValueError("Missing: features was {}.")
    return {"sparse_keys": tuple(k for k, _ in sparse), "sparse_types": tuple(t for _, t in sparse),
            "dense_keys": tuple(d[0] for d in dense), "dense_types": tuple(d[1] for d in dense),
            "dense_shapes": tuple(d[2] for d in dense), "dense_defaults": tuple(d[3] for d in dense),
            "dense_seq": tuple(d[4] for d in dense), "single": single}


def _parse(serialized, features, name, example_names, single: bool):
    from .sparse_feature import combine, expand

    requested = set(features)
    features, sparse_features = expand(features)
    attrs = config(features, single)
    with name_scope(name, "ParseSingleExample" if single else "ParseExample", [serialized]) as scope:
        s = convert_to_tensor(serialized, dtype=dtypes.string)
        if s.shape.ndims is not None and s.shape.ndims != (0 if single else 1):
            raise ValueError(f"serialized must be a {'scalar' if single else 'vector'}, got shape {s.shape}")
        names = None
        if example_names is not None:
            from .common import constant_value

            known = constant_value(convert_to_tensor(example_names, dtype=dtypes.string))
            names = None if known is None else tuple(n.decode() if isinstance(n, bytes) else str(n)
                                                     for n in np.asarray(known).reshape(-1))
        attrs["names"] = names
        op = make_op("ParseSingleExample" if single else "ParseExample", [s], attrs, scope)
    return combine(features_result(list(op.outputs), attrs), sparse_features, requested)


def features_result(outs: list, attrs: dict) -> dict:
    """``{key: SparseTensor | Tensor}`` from the outputs of :func:`parse_features` (in its order)."""
    n = len(attrs["sparse_keys"])
    result = {}
    for i, key in enumerate(attrs["sparse_keys"]):
        result[key] = SparseTensor(outs[i], outs[n + i], outs[2 * n + i])
    for i, key in enumerate(attrs["dense_keys"]):
        result[key] = outs[3 * n + i]
    return result


def parse_example(serialized, features, name=None, example_names=None) -> dict:
    """Parse a batch of serialized ``Example`` protos (``tf.parse_example``).

    Parameters
    ----------
    serialized : string Tensor, ``[batch]``
        Serialized ``tf.train.Example`` records.
    features : dict
        Key -> ``FixedLenFeature``, ``VarLenFeature`` or ``FixedLenSequenceFeature(allow_missing=True)``.
    name : str, optional
        The op's name scope.
    example_names : list of str, optional
        Names of the examples, for error messages.

    Returns
    -------
    dict
        Key -> ``Tensor`` (``[batch] + shape``; ``[batch, longest] + shape`` for sequence features) or
        ``SparseTensor`` (``VarLenFeature``: indices ``[nnz, 2]``, dense shape ``[batch, longest]``).

    Examples
    --------
    >>> import dataflow as tf
    >>> ex = tf.train.Example(features=tf.train.Features(feature={
    ...     "label": tf.train.Feature(int64_list=tf.train.Int64List(value=[7]))}))
    >>> parsed = tf.parse_example([ex.SerializeToString()], {"label": tf.FixedLenFeature([], tf.int64)})
    >>> tf.Session().run(parsed["label"])
    array([7])
    """
    return _parse(serialized, features, name, example_names, single=False)


def parse_single_example(serialized, features, name=None, example_names=None) -> dict:
    """Parse one serialized ``Example`` (``tf.parse_single_example``): as :func:`parse_example` without
    the batch dimension (sparse indices ``[nnz, 1]``, dense shape ``[longest]``).

    Parameters
    ----------
    serialized : scalar string Tensor
        One serialized ``tf.train.Example``.
    features : dict
        As :func:`parse_example`.
    name : str, optional
        The op's name scope.
    example_names : str, optional
        The example's name (unused in messages: TF's single-example messages name only the key).

    Returns
    -------
    dict
        Key -> ``Tensor`` or ``SparseTensor``.
    """
    return _parse(serialized, features, name, example_names, single=True)
