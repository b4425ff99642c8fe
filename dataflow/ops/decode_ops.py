"""Decoding strings into tensors: ``tf.decode_raw``, ``tf.decode_csv``, ``tf.string_split``.

Host NumPy kernels over object arrays of ``bytes``:

- ``DecodeRaw``: each string's bytes reinterpreted as ``out_type`` (one ``np.frombuffer`` over the
  joined strings); all strings must have one length, a multiple of the type's size.
- ``DecodeCSV``: one output per column. Fields are split on ``field_delim``; with ``use_quote_delim``
  a field may be quoted (``"a,b"``, a quote written ``""``). An empty field (or ``na_value``) takes the
  column's default; a column without a default must be present. Numbers are parsed strictly (no
  underscores, no surrounding text): ``Field 1 in record 0 is not a valid float: x`` as TF says.
- ``StringSplit``: each string split on any of the delimiter's characters (TF1's op), empty tokens
  dropped with ``skip_empty``; a ``SparseTensor`` of tokens ``[batch, longest]``.
"""

from __future__ import annotations

import re

import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import convert_to_tensor, make_op, name_scope
from ..framework.registry import OpDef, register
from ..framework.sparse_tensor import SparseTensor
from ..framework.tensor_shape import TensorShape

__all__ = ["decode_csv", "decode_raw", "string_split"]


# ---- DecodeRaw -------------------------------------------------------------------------------------
def _decode_raw_kernel(xp, data, *, out_type, little_endian):
    flat = [bytes(s) for s in np.asarray(data, dtype=object).reshape(-1)]
    npd = np.dtype(out_type.as_numpy_dtype)
    width = len(flat[0]) if flat else 0
    for i, s in enumerate(flat):
        if len(s) != width:
            raise errors.InvalidArgumentError(
                None, None, f"DecodeRaw requires input strings to all be the same size, but element {i} has "
                            f"size {len(s)} != {width}")
    if width % npd.itemsize:
        raise errors.InvalidArgumentError(
            None, None, f"Input to DecodeRaw has length {width} that is not a multiple of {npd.itemsize}, the "
                        f"size of {out_type.name}")
    wire = npd.newbyteorder("<" if little_endian else ">")
    out = np.frombuffer(b"".join(flat), dtype=wire).astype(npd)
    return out.reshape(np.shape(data) + (width // npd.itemsize,))


def _decode_raw_infer(op):
    return [(op.attrs["out_type"], op.inputs[0].shape.concatenate([None]))]


register(OpDef("DecodeRaw", _decode_raw_infer, _decode_raw_kernel, differentiable=False))


def decode_raw(input_bytes=None, out_type=None, little_endian=True, name=None, bytes=None):  # noqa: A002
    """Reinterpret each string's bytes as numbers of ``out_type`` (``tf.decode_raw``, ``tf.io.decode_raw``).

    Parameters
    ----------
    input_bytes : string Tensor
        Strings of one length each (a multiple of ``out_type``'s size).
    out_type : DType
        uint8, int16, int32, int64, float16, float32, float64 ...
    little_endian : bool
        The byte order of the data.
    name : str, optional
        The op's name.
    bytes : string Tensor, optional
        TF 1.x's older name of ``input_bytes``.

    Returns
    -------
    Tensor
        ``input_bytes.shape + [length // size]``.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.decode_raw(tf.constant([b"\\x01\\x00\\x02\\x00"]), tf.int16))
    array([[1, 2]], dtype=int16)
    """
    data = convert_to_tensor(input_bytes if input_bytes is not None else bytes, dtype=dtypes.string)
    out_type = dtypes.as_dtype(out_type)
    if out_type is dtypes.string or out_type is dtypes.bool_:
        raise TypeError(f"Value passed to parameter 'out_type' has DataType {out_type.name} not in list of "
                        "allowed values")
    return make_op("DecodeRaw", [data], {"out_type": out_type, "little_endian": bool(little_endian)},
                   name or "DecodeRaw").outputs[0]


# ---- DecodeCSV -------------------------------------------------------------------------------------
_INT = re.compile(rb"\s*[+-]?\d+\s*\Z")
_FLOAT = re.compile(rb"\s*[+-]?(\d+\.?\d*([eE][+-]?\d+)?|\.\d+([eE][+-]?\d+)?|inf|infinity|nan)\s*\Z",
                    re.IGNORECASE)
_TYPE_NAMES = {dtypes.float32: "float", dtypes.float64: "double"}


def _split_record(rec: bytes, delim: bytes, quotes: bool, r: int) -> list:
    if not quotes or b'"' not in rec:
        return rec.split(delim)
    fields, i, n = [], 0, len(rec)
    while True:
        if i < n and rec[i:i + 1] == b'"':
            j, buf = i + 1, []
            while True:
                k = rec.find(b'"', j)
                if k < 0:
                    raise errors.InvalidArgumentError(
                        None, None, f"Quoted field has to end with quote followed by delim or end in record {r}")
                buf.append(rec[j:k])
                if rec[k + 1:k + 2] == b'"':
                    buf.append(b'"')
                    j = k + 2
                    continue
                i = k + 1
                break
            if i < n and rec[i:i + len(delim)] != delim:
                raise errors.InvalidArgumentError(
                    None, None, "Quote inside a string has to be escaped by another quote")
            fields.append(b"".join(buf))
        else:
            k = rec.find(delim, i)
            field = rec[i:] if k < 0 else rec[i:k]
            if b'"' in field:
                raise errors.InvalidArgumentError(
                    None, None, f"Unquoted fields cannot have quotes/CRLFs inside in record {r}")
            fields.append(field)
            i = n if k < 0 else k
        if i >= n:
            return fields
        i += len(delim)
        if i >= n:
            fields.append(b"")
            return fields


def _convert_field(field: bytes, dtype, c: int, r: int):
    if dtype is dtypes.string:
        return field
    pattern = _INT if dtype.is_integer else _FLOAT
    if not pattern.match(field):
        raise errors.InvalidArgumentError(
            None, None, f"Field {c} in record {r} is not a valid {_TYPE_NAMES.get(dtype, dtype.name)}: "
                        f"{field.decode(errors='replace')}")
    value = int(field) if dtype.is_integer else float(field)
    if dtype.is_integer and not dtype.min <= value <= dtype.max:
        raise errors.InvalidArgumentError(
            None, None, f"Field {c} in record {r} is not a valid {dtype.name}: {field.decode()}")
    return value


def _decode_csv_kernel(xp, records, *defaults, field_delim, use_quote_delim, na_value, select_cols, types):
    flat = np.asarray(records, dtype=object).reshape(-1)
    delim, na = field_delim.encode(), na_value.encode()
    cols = [[] for _ in types]
    want = len(types)
    for r, rec in enumerate(flat):
        fields = _split_record(bytes(rec), delim, use_quote_delim, r)
        if select_cols is not None:
            if len(fields) <= select_cols[-1]:
                raise errors.InvalidArgumentError(
                    None, None, f"Expect {want} fields but have {len(fields)} in record {r}")
            fields = [fields[i] for i in select_cols]
        if len(fields) != want:
            raise errors.InvalidArgumentError(None, None, f"Expect {want} fields but have {len(fields)} in record {r}")
        for c, (field, dtype) in enumerate(zip(fields, types)):
            if field == b"" or (na and field == na):
                if defaults[c].size == 0:
                    raise errors.InvalidArgumentError(
                        None, None, f"Field {c} is required but missing in record {r}!")
                cols[c].append(defaults[c].reshape(-1)[0])
            else:
                cols[c].append(_convert_field(field, dtype, c, r))
    shape = np.shape(records)
    out = []
    for col, dtype in zip(cols, types):
        arr = np.empty(len(col), dtype=object) if dtype is dtypes.string else None
        if arr is not None:
            arr[:] = col
        else:
            arr = np.array(col, dtype=dtype.as_numpy_dtype).reshape(len(col))
        out.append(arr.reshape(shape))
    return tuple(out) if len(out) != 1 else out[0]


def _decode_csv_infer(op):
    return [(t, op.inputs[0].shape) for t in op.attrs["types"]]


register(OpDef("DecodeCSV", _decode_csv_infer, _decode_csv_kernel, differentiable=False))

_CSV_TYPES = (dtypes.int32, dtypes.int64, dtypes.float32, dtypes.float64, dtypes.string)


def decode_csv(records, record_defaults, field_delim=",", use_quote_delim=True, name=None, na_value="",
               select_cols=None):
    """Parse CSV records into one tensor per column (``tf.decode_csv``, ``tf.io.decode_csv``).

    Parameters
    ----------
    records : string Tensor
        One CSV line per element.
    record_defaults : list
        One entry per column: a one-element list (or tensor) giving its type and default value, or an
        empty tensor of its type for a required column. Types: int32, int64, float32, float64, string.
    field_delim : str
        The one-character field separator.
    use_quote_delim : bool
        Whether ``"..."`` quotes a field (a quote inside written ``""``).
    name : str, optional
        The op's name.
    na_value : str
        A field equal to this is missing (takes the default).
    select_cols : list of int, optional
        The (sorted) columns to keep.

    Returns
    -------
    list of Tensor
        One per column, each of ``records``' shape.

    Examples
    --------
    >>> import dataflow as tf
    >>> a, b = tf.decode_csv(["1,x", "2,y"], [[0], [""]])
    >>> tf.Session().run(a)
    array([1, 2], dtype=int32)
    """
    if len(field_delim) != 1:
        raise ValueError(f"field_delim should be only 1 char, got {field_delim!r}")
    if select_cols is not None:
        select_cols = [int(c) for c in select_cols]
        if any(b <= a for a, b in zip(select_cols, select_cols[1:])) or (select_cols and select_cols[0] < 0):
            raise ValueError("select_cols is not strictly increasing.")
        if len(select_cols) != len(record_defaults):
            raise ValueError("Length of select_cols and record_defaults do not match.")
        select_cols = tuple(select_cols)
    with name_scope(name, "DecodeCSV", [records]) as scope:
        recs = convert_to_tensor(records, dtype=dtypes.string)
        defaults = [convert_to_tensor(d) for d in record_defaults]
        types = tuple(d.dtype for d in defaults)
        for c, t in enumerate(types):
            if t not in _CSV_TYPES:
                raise TypeError(f"record_defaults[{c}] has type {t.name}: int32, int64, float32, float64 or "
                                "string expected")
        op = make_op("DecodeCSV", [recs] + defaults,
                     {"field_delim": field_delim, "use_quote_delim": bool(use_quote_delim),
                      "na_value": na_value, "select_cols": select_cols, "types": types}, scope)
    return list(op.outputs)


# ---- StringSplit -----------------------------------------------------------------------------------
def _string_split_kernel(xp, source, *, delimiter, skip_empty):
    flat = [bytes(s) for s in np.asarray(source, dtype=object).reshape(-1)]
    if delimiter:
        splitter = re.compile(b"[" + re.escape(delimiter) + b"]")
        rows = [splitter.split(s) for s in flat]
    else:
        rows = [[s[i:i + 1] for i in range(len(s))] for s in flat]
    if skip_empty:
        rows = [[t for t in r if t] for r in rows]
    counts = np.array([len(r) for r in rows], dtype=np.int64)
    total = int(counts.sum())
    values = np.empty(total, dtype=object)
    values[:] = [t for r in rows for t in r]
    starts = np.repeat(np.cumsum(counts) - counts, counts)
    indices = np.stack([np.repeat(np.arange(len(rows), dtype=np.int64), counts),
                        np.arange(total, dtype=np.int64) - starts], axis=1)
    shape = np.array([len(rows), int(counts.max()) if len(rows) else 0], dtype=np.int64)
    return indices.reshape(total, 2), values, shape


def _string_split_infer(op):
    return [(dtypes.int64, TensorShape([None, 2])), (dtypes.string, TensorShape([None])),
            (dtypes.int64, TensorShape([2]))]


register(OpDef("StringSplit", _string_split_infer, _string_split_kernel, differentiable=False))


def string_split(source, sep=None, skip_empty=True, delimiter=None, name=None) -> SparseTensor:
    """Split each string on any character of ``sep`` (``tf.string_split``, TF1's semantics).

    Parameters
    ----------
    source : 1-D string Tensor
        The strings.
    sep : str
        The delimiter characters (default ``" "``); ``""`` splits into single bytes.
    skip_empty : bool
        Drop empty tokens.
    delimiter : str
        TF's older name of ``sep``.
    name : str, optional
        The op's name.

    Returns
    -------
    SparseTensor
        Tokens at ``[i, j]`` (string ``i``, token ``j``), dense shape ``[len(source), longest]``.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.string_split(["a b", "c"])).values
    array([b'a', b'b', b'c'], dtype=object)
    """
    sep = sep if sep is not None else (delimiter if delimiter is not None else " ")
    sep = sep.encode() if isinstance(sep, str) else bytes(sep)
    src = convert_to_tensor(source, dtype=dtypes.string)
    if src.shape.ndims not in (None, 1):
        raise ValueError(f"source must be a vector, got shape {src.shape}")
    op = make_op("StringSplit", [src], {"delimiter": sep, "skip_empty": bool(skip_empty)},
                 name or "StringSplit")
    return SparseTensor(*op.outputs)
