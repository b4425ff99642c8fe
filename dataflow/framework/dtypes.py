"""TensorFlow's dtypes, each a thin wrapper over a NumPy dtype.

``tf.float32`` and friends are singletons of :class:`DType`; :func:`as_dtype` accepts a DType, a NumPy
dtype or type, or a name (``"float"`` is float32, as in TF1's ``tf.placeholder("float")``).
Reference variables (TF1's ``float32_ref``) are marked on the tensor, not on the dtype.
"""

from __future__ import annotations

import numpy as np


class DType:
    """A tensor element type, e.g. ``tf.float32``.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.float32.as_numpy_dtype
    <class 'numpy.float32'>
    """

    __slots__ = ("name", "_np")

    def __init__(self, name: str, np_type):
        self.name = name
        self._np = np_type

    @property
    def as_numpy_dtype(self):
        return self._np

    @property
    def as_datatype_enum(self) -> int:
        """TF's DataType enum value (``tf.float32.as_datatype_enum == 1``)."""
        return _ENUM_OF[self]

    @property
    def base_dtype(self) -> "DType":
        return self

    @property
    def is_floating(self) -> bool:
        return self._np is not object and np.issubdtype(self._np, np.floating)

    @property
    def is_integer(self) -> bool:
        return self._np is not object and np.issubdtype(self._np, np.integer)

    @property
    def is_unsigned(self) -> bool:
        return self._np is not object and np.issubdtype(self._np, np.unsignedinteger)

    @property
    def is_complex(self) -> bool:
        return self._np is not object and np.issubdtype(self._np, np.complexfloating)

    @property
    def is_bool(self) -> bool:
        return self._np is np.bool_

    @property
    def is_numeric(self) -> bool:
        return self._np is not object and not self.is_bool

    @property
    def min(self):
        return np.finfo(self._np).min if self.is_floating else np.iinfo(self._np).min

    @property
    def max(self):
        return np.finfo(self._np).max if self.is_floating else np.iinfo(self._np).max

    @property
    def size(self) -> int:
        return np.dtype(self._np).itemsize

    def is_compatible_with(self, other) -> bool:
        return self is as_dtype(other)

    def __eq__(self, other) -> bool:
        """As TF: a DType equals anything ``as_dtype`` maps to it (``tf.float32 == np.float32``)."""
        if other is None:
            return False
        try:
            return self is as_dtype(other)
        except (TypeError, ValueError):
            return False

    def __ne__(self, other) -> bool:
        return not self.__eq__(other)

    def __hash__(self) -> int:
        return hash(self.name)

    def __repr__(self) -> str:
        return f"tf.{self.name}"

    def __reduce__(self):
        return as_dtype, (self.name,)


float16 = DType("float16", np.float16)
half = float16
float32 = DType("float32", np.float32)
float64 = DType("float64", np.float64)
double = float64
int8 = DType("int8", np.int8)
int16 = DType("int16", np.int16)
int32 = DType("int32", np.int32)
int64 = DType("int64", np.int64)
uint8 = DType("uint8", np.uint8)
uint16 = DType("uint16", np.uint16)
uint32 = DType("uint32", np.uint32)
uint64 = DType("uint64", np.uint64)
bool_ = DType("bool", np.bool_)
string = DType("string", object)
complex64 = DType("complex64", np.complex64)
complex128 = DType("complex128", np.complex128)
# an opaque host value (a loop's per-iteration record for its gradient), never an array
variant = DType("variant", object)

ALL = (float16, float32, float64, int8, int16, int32, int64, uint8, uint16, uint32, uint64, bool_,
       string, complex64, complex128)
_BY_NAME = {d.name: d for d in ALL}
_BY_NAME.update({"variant": variant, "float": float32, "double": float64, "half": float16, "int": int32,
                 "long": int64,
                 "str": string, "bytes": string})
_BY_NP = {np.dtype(d._np): d for d in ALL if d is not string}
# TF's DataType enum (types.proto): ``dtype=1`` is float32; ``_ref`` types are the value + 100
_ENUM = {1: float32, 2: float64, 3: int32, 4: uint8, 5: int16, 6: int8, 7: string, 8: complex64, 9: int64,
         10: bool_, 17: uint16, 18: complex128, 19: float16, 21: variant, 22: uint32, 23: uint64}
_ENUM_OF = {d: e for e, d in _ENUM.items()}


def as_dtype(value) -> DType:
    """Convert ``value`` (a DType, name, NumPy dtype or Python type) to a :class:`DType`."""
    if isinstance(value, DType):
        return value
    if isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_)):
        enum = int(value) - 100 if int(value) > 100 else int(value)
        if enum in _ENUM:
            return _ENUM[enum]
        raise TypeError(f"Cannot convert value {value!r} to a dataflow DType (not a supported DataType enum).")
    if isinstance(value, str):
        name = value[:-4] if value.endswith("_ref") else value
        if name in _BY_NAME:
            return _BY_NAME[name]
    if value in (str, bytes):
        return string
    if value is float:
        return float32
    if value is int:
        return int32
    if value is bool:
        return bool_
    try:
        npd = np.dtype(value)
    except TypeError:
        raise TypeError(f"Cannot convert {value!r} to a dataflow DType.") from None
    if npd.kind in "OSU":
        return string
    if npd in _BY_NP:
        return _BY_NP[npd]
    raise TypeError(f"Cannot convert {value!r} to a dataflow DType.")


def infer_dtype(value) -> DType:
    """The dtype TF gives a Python or NumPy constant: Python floats are float32, ints int32."""
    if isinstance(value, np.ndarray) or isinstance(value, np.generic):
        if value.dtype.kind in "OSU":
            return string
        return as_dtype(value.dtype)
    arr = np.asarray(value)
    if arr.dtype.kind in "OSU":
        return string
    if arr.dtype.kind == "f":
        return float32
    if arr.dtype.kind == "i":
        if arr.size and (arr.max() > np.iinfo(np.int32).max or arr.min() < np.iinfo(np.int32).min):
            return int64
        return int32
    if arr.dtype.kind == "c":
        return complex128
    return as_dtype(arr.dtype)
