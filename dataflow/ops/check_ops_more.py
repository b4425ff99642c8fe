"""The rest of TF1's ``tf.debugging`` checks, composed from primitives: ``is_non_decreasing``,
``is_strictly_increasing``, ``assert_rank_in``, ``assert_same_float_dtype``."""

from __future__ import annotations

from ..framework import dtypes
from ..framework.graph import Operation, Tensor, convert_to_tensor, name_scope


def _monotone(x, strict: bool, name, default_name) -> Tensor:
    from .array import reshape
    from .math import greater, greater_equal
    from .reduction import reduce_all

    with name_scope(name, default_name, [x]):
        x = convert_to_tensor(x, name="x")
        if not x.dtype.is_numeric:
            raise TypeError(f"Expected x to be numeric, instead found: {x.dtype.name}")
        flat = reshape(x, [-1])
        step = (greater if strict else greater_equal)(flat[1:], flat[:-1])
        return reduce_all(step)


def is_non_decreasing(x, name=None) -> Tensor:
    """True when each element of ``x`` (flattened) is >= the one before; vacuously True for fewer than two.

    Examples
    --------
    >>> import dataflow as tf
    >>> print(tf.Session().run(tf.debugging.is_non_decreasing([1, 1, 2])))
    True
    """
    return _monotone(x, False, name, "is_non_decreasing")


def is_strictly_increasing(x, name=None) -> Tensor:
    """True when each element of ``x`` (flattened) is > the one before; vacuously True for fewer than two."""
    return _monotone(x, True, name, "is_strictly_increasing")


def assert_rank_in(x, ranks, data=None, summarize=None, message=None, name=None) -> Operation:
    """Assert that the rank of ``x`` is one of ``ranks``: ValueError now when the rank is known, else an
    ``Assert`` op that fails at run time with InvalidArgumentError."""
    from .array import rank
    from .check_ops import Assert
    from .constant import no_op
    from .math import equal
    from .reduction import reduce_any

    ranks = [int(r) for r in ranks]
    with name_scope(name, "assert_rank_in", [x]):
        x = convert_to_tensor(x, name="x")
        prefix = f"{message}.  " if message else ""
        if x.shape.ndims is not None:
            if x.shape.ndims not in ranks:
                raise ValueError(f"{prefix}Tensor {x.name} must have rank in {tuple(ranks)}.  Received rank "
                                 f"{x.shape.ndims}, shape {x.shape}")
            return no_op()
        r = rank(x)
        msg = data if data is not None else [f"{prefix}Tensor {x.name} must have rank in", ranks, "Received rank:", r]
        return Assert(reduce_any(equal(r, ranks)), msg, summarize=summarize)


def assert_same_float_dtype(tensors=None, dtype=None):
    """The one float dtype of ``tensors`` (and ``dtype``): ValueError if they differ or are not floats;
    float32 when there is nothing to check."""
    found = dtypes.as_dtype(dtype) if dtype is not None else None
    for t in tensors or []:
        t_dtype = dtypes.as_dtype(getattr(t, "dtype", dtypes.float32)).base_dtype
        if found is None:
            found = t_dtype
        elif t_dtype is not found:
            raise ValueError(f"{getattr(t, 'name', t)}, type={t_dtype.name}: expected type {found.name}.")
    if found is None:
        return dtypes.float32
    if not found.is_floating:
        raise ValueError(f"Expected floating point type, got {found.name}.")
    return found
