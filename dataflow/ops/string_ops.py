"""String ops: ``tf.string_to_number`` (``StringToNumber``).

Strings are NumPy object arrays of ``bytes`` (the ``string`` dtype). Parsing follows TF: the whole
string must be a number (surrounding whitespace allowed), else the run fails with
InvalidArgumentError naming the string.
"""

from __future__ import annotations

import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import Tensor, convert_to_tensor, make_op
from ..framework.registry import OpDef, register

__all__ = ["string_to_number"]


def _parse(s, integer: bool):
    text = s.decode() if isinstance(s, bytes) else str(s)
    try:
        return int(text) if integer else float(text)
    except ValueError:
        raise errors.InvalidArgumentError(
            None, None, f"StringToNumberOp could not correctly convert string: {text}") from None


def _string_to_number_kernel(xp, x, *, out_type):
    npd = np.dtype(out_type.as_numpy_dtype)
    flat = [_parse(s, npd.kind in "iu") for s in np.asarray(x, dtype=object).ravel()]
    try:
        return np.array(flat, dtype=npd).reshape(np.shape(x))
    except OverflowError:
        raise errors.InvalidArgumentError(None, None, f"StringToNumberOp: a value is out of range for "
                                          f"{out_type.name}") from None


register(OpDef("StringToNumber", lambda op: [(op.attrs["out_type"], op.inputs[0].shape)], _string_to_number_kernel,
               differentiable=False))


def string_to_number(string_tensor, out_type=dtypes.float32, name=None) -> Tensor:
    """Parse each string of ``string_tensor`` as a number of ``out_type`` (float32, float64, int32, int64).

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.string_to_number(["1.5", " -2"]))
    array([ 1.5, -2. ], dtype=float32)
    """
    out_type = dtypes.as_dtype(out_type)
    if out_type not in (dtypes.float32, dtypes.float64, dtypes.int32, dtypes.int64):
        raise TypeError(f"out_type must be float32, float64, int32 or int64, got {out_type.name}")
    x = convert_to_tensor(string_tensor, dtype=dtypes.string)
    return make_op("StringToNumber", [x], {"out_type": out_type}, name or "StringToNumber").outputs[0]
