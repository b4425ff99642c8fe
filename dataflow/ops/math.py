"""Elementwise math: one table row per primitive (TF type, NumPy name, gradient), then the TF API.

Binary ops broadcast as NumPy does; their gradient rules return full-shape gradients and the gradient
engine sums them back to each input's shape (``OpDef.broadcasting``), once, for all of them.
"""

from __future__ import annotations

import functools

import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import Tensor, _OperatorMixin, convert_to_tensor, make_op, name_scope
from ..framework.registry import OpDef, register
from .common import binary_inputs, broadcast_binary, broadcast_to_bool, same_as_input
from .parallel import MIN_ELEMENTS, run_rows, ufunc_with_scalar


def _u(t, x, name=None):
    return make_op(t, [convert_to_tensor(x)], name=name).outputs[0]


def _b(t, x, y, name=None):
    x, y = binary_inputs(x, y)
    return make_op(t, [x, y], name=name).outputs[0]


# ---- unary primitives -----------------------------------------------------------------------
# (TF type, xp function or kernel, gradient rule (op, g) -> dx); x = op.inputs[0], y = op.outputs[0]
def _x(op):
    return op.inputs[0]


def _y(op):
    return op.outputs[0]


def _rsqrt_kernel(xp, x):
    return xp.reciprocal(xp.sqrt(x))


def _sigmoid_kernel(xp, x):
    # NOTE: exp(-|x|) never overflows, and each tail is a ratio without cancellation: 1 / (1 + e) for
    # x >= 0 and e / (1 + e) below, so sigmoid(-20.) in float32 is 2.06e-9, not 0 (0.5 * (1 + tanh(x / 2))
    # rounds the negative tail to 0 and tf.log(tf.sigmoid(x)) to -inf).
    if x.dtype.kind == "c":
        return 1 / (1 + xp.exp(-x))
    e = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _relu_kernel(xp, x):
    if xp is not np or not x.flags.c_contiguous:
        return xp.maximum(x, 0)
    return ufunc_with_scalar(np.maximum, x, 0)


# The dtypes each unary op accepts, as TF registers it: a float-only op on an integer raises TypeError
# when the graph is built (NumPy would silently compute in float64 and break the static dtype).
_REAL = (dtypes.float16, dtypes.float32, dtypes.float64)  # TF's UNARY_REAL, IsNan, Floor...
_FLOAT = _REAL + (dtypes.complex64, dtypes.complex128)     # TF's UNARY_COMPLEX
_NUMERIC = _FLOAT + (dtypes.int8, dtypes.int16, dtypes.int32, dtypes.int64,
                     dtypes.uint8, dtypes.uint16, dtypes.uint32, dtypes.uint64)  # TF's UNARY, Abs, Relu
_BOOL = (dtypes.bool_,)

UNARY = [
    ("Neg", "negative", _NUMERIC, lambda op, g: -g),
    ("Abs", "abs", _NUMERIC, lambda op, g: g * sign(_x(op))),
    ("Sign", "sign", _NUMERIC, lambda op, g: zeros_like(_x(op))),
    ("Square", "square", _NUMERIC, lambda op, g: g * (2 * _x(op))),
    ("Sqrt", "sqrt", _FLOAT, lambda op, g: g * 0.5 / _y(op)),
    ("Rsqrt", _rsqrt_kernel, _FLOAT, lambda op, g: g * (-0.5 * _y(op) * _y(op) * _y(op))),
    ("Reciprocal", "reciprocal", _NUMERIC, lambda op, g: -g * _y(op) * _y(op)),
    ("Exp", "exp", _FLOAT, lambda op, g: g * _y(op)),
    ("Expm1", "expm1", _FLOAT, lambda op, g: g * exp(_x(op))),
    ("Log", "log", _FLOAT, lambda op, g: g / _x(op)),
    ("Log1p", "log1p", _FLOAT, lambda op, g: g / (1 + _x(op))),
    ("Sin", "sin", _FLOAT, lambda op, g: g * cos(_x(op))),
    ("Cos", "cos", _FLOAT, lambda op, g: -g * sin(_x(op))),
    # NOTE: TF's op def admits integers for Tan, but it has no integer kernel.
    ("Tan", "tan", _FLOAT, lambda op, g: g * (1 + _y(op) * _y(op))),
    ("Tanh", "tanh", _FLOAT, lambda op, g: g * (1 - _y(op) * _y(op))),
    ("Sigmoid", _sigmoid_kernel, _FLOAT, lambda op, g: g * _y(op) * (1 - _y(op))),
    # NOTE: relu's gradient at exactly 0 is 0, as TF's ReluGrad (features > 0).
    ("Relu", _relu_kernel, _NUMERIC, lambda op, g: _relu_grad(op, g)),
    ("Round", "round", _NUMERIC, None),
    ("Floor", "floor", _REAL, None),
    ("Ceil", "ceil", _REAL, None),
    ("LogicalNot", "logical_not", _BOOL, None),
    ("IsNan", "isnan", _REAL, None),
    ("IsInf", "isinf", _REAL, None),
    ("IsFinite", "isfinite", _REAL, None),
]


def _relu_grad_kernel(xp, g, x):
    if xp is not np or g.size < 2 * MIN_ELEMENTS or g.shape != x.shape:
        return xp.multiply(g, x > 0)
    out = np.empty_like(g)
    zero = x.dtype.type(0)

    def rows(lo, hi):
        np.multiply(g[lo:hi], np.greater(x[lo:hi], zero), out=out[lo:hi])

    run_rows(np, g.shape[0], g.size, rows)
    return out


def _relu_grad(op, g):
    # NOTE: relu then max-pool (a CNN's usual stack): the gradient arriving at relu(z) is
    # MaxPoolGrad(relu(z), y, gy), nonzero only at each window's max p, where relu(z)[p] = y, so
    # z[p] > 0 exactly when y > 0 and ReluGrad(MaxPoolGrad(relu(z), y, gy), z) equals
    # MaxPoolGrad(relu(z), y, ReluGrad(gy, y)): the mask is applied at the pooled size (4x smaller for
    # 2x2 windows) and the full-size ReluGrad pass is gone. Same values, including inf and NaN in gy.
    pool = g.op
    if pool.type == "MaxPoolGrad" and pool.inputs[0] is op.outputs[0]:
        x, y, gy = pool.inputs
        masked = make_op("ReluGrad", [gy, y]).outputs[0]
        return make_op("MaxPoolGrad", [x, y, masked], dict(pool.attrs)).outputs[0]
    return make_op("ReluGrad", [g, _x(op)]).outputs[0]


# ReluGrad(g, x) = g where x > 0 else 0; linear in g, piecewise constant in x
register(OpDef("ReluGrad", same_as_input, _relu_grad_kernel,
               grad=lambda op, gg: [make_op("ReluGrad", [gg, op.inputs[1]]).outputs[0], None]))
_BOOL_OUT = {"LogicalNot", "IsNan", "IsInf", "IsFinite"}


def _unary_infer(op_type: str, allowed: tuple):
    def infer(op):
        x = op.inputs[0]
        if x.dtype not in allowed:
            raise TypeError(f"Value passed to parameter 'x' of '{op_type}' Op has DataType {x.dtype.name} not "
                            f"in list of allowed values: {', '.join(d.name for d in allowed)}")
        return [(dtypes.bool_ if op_type in _BOOL_OUT else x.dtype, x.shape)]

    return infer


for _t, _k, _ok, _g in UNARY:
    register(OpDef(
        _t, _unary_infer(_t, _ok),
        kernel=(lambda xp, x, _n=_k: getattr(xp, _n)(x)) if isinstance(_k, str) else _k,
        xp_name=_k if isinstance(_k, str) else None,
        grad=None if _g is None else (lambda op, g, _g=_g: [_g(op, g)]),
        differentiable=_g is not None))


# ---- binary primitives ----------------------------------------------------------------------
def _pow_grad(op, g):
    x, y, z = op.inputs[0], op.inputs[1], op.outputs[0]
    gx = g * y * pow(x, y - 1)
    log_x = where_v2(x > 0, log(where_v2(x > 0, x, ones_like(x))), zeros_like(x))
    return [gx, g * z * log_x]


def _max_min_grad(compare):
    def grad(op, g):
        x, y = op.inputs
        mask = compare(x, y)
        zeros = zeros_like(g)
        return [where_v2(mask, g, zeros), where_v2(mask, zeros, g)]

    return grad


def _int_checked(fn):
    """A division kernel raising TF's InvalidArgumentError on an integer division by zero (NumPy would
    give 0 with a warning); floats divide as IEEE says."""
    def kernel(xp, x, y):
        if y.dtype.kind in "iu" and not xp.all(y):
            raise errors.InvalidArgumentError(None, None, "Integer division by zero")
        return fn(x, y)

    kernel.__name__ = f"_{fn.__name__}_kernel"
    return kernel


def _truncate_div(x, y):
    """Division rounding toward zero (C's ``/``): the integer quotient, or ``trunc(x / y)`` for floats."""
    if x.dtype.kind == "f":
        return np.trunc(x / y)
    q = np.floor_divide(x, y)
    return q + ((q < 0) & (q * y != x)).astype(q.dtype)


def _squared_difference_kernel(xp, x, y):
    d = x - y
    return d * d


BINARY = [
    ("Add", "add", lambda op, g: [g, g]),
    ("Sub", "subtract", lambda op, g: [g, -g]),
    ("Mul", "multiply", lambda op, g: [g * op.inputs[1], g * op.inputs[0]]),
    ("RealDiv", "true_divide",
     lambda op, g: [g / op.inputs[1], g * (-op.inputs[0] / op.inputs[1] / op.inputs[1])]),
    ("FloorDiv", _int_checked(np.floor_divide), None),
    ("FloorMod", _int_checked(np.mod), lambda op, g: [g, g * -floordiv(op.inputs[0], op.inputs[1])]),
    ("TruncateDiv", _int_checked(_truncate_div), None),
    ("TruncateMod", _int_checked(np.fmod), None),
    ("Pow", "power", _pow_grad),
    ("Maximum", "maximum", _max_min_grad(lambda x, y: greater_equal(x, y))),
    ("Minimum", "minimum", _max_min_grad(lambda x, y: less_equal(x, y))),
    ("SquaredDifference", _squared_difference_kernel,
     lambda op, g: [g * 2 * (op.inputs[0] - op.inputs[1]), -(g * 2 * (op.inputs[0] - op.inputs[1]))]),
]
COMPARISONS = [("Less", "less"), ("LessEqual", "less_equal"), ("Greater", "greater"),
               ("GreaterEqual", "greater_equal"), ("Equal", "equal"), ("NotEqual", "not_equal"),
               ("LogicalAnd", "logical_and"), ("LogicalOr", "logical_or")]

for _t, _k, _g in BINARY:
    register(OpDef(_t, broadcast_binary,
                   kernel=(lambda xp, x, y, _n=_k: getattr(xp, _n)(x, y)) if isinstance(_k, str) else _k,
                   xp_name=_k if isinstance(_k, str) else None, grad=_g, differentiable=_g is not None,
                   broadcasting=True))
for _t, _k in COMPARISONS:
    register(OpDef(_t, broadcast_to_bool, kernel=lambda xp, x, y, _n=_k: getattr(xp, _n)(x, y),
                   xp_name=_k, differentiable=False, broadcasting=True))


def _add_n_kernel(xp, *xs):
    return functools.reduce(xp.add, xs)


def _add_n_infer(op):
    shape = op.inputs[0].shape
    for x in op.inputs[1:]:
        shape = shape.merge_with(x.shape)
    return [(op.inputs[0].dtype, shape)]


register(OpDef("AddN", _add_n_infer, _add_n_kernel, grad=lambda op, g: [g] * len(op.inputs)))


def _cast_kernel(xp, x, *, DstT):
    return x.astype(DstT.as_numpy_dtype)


def _cast_grad(op, g):
    src, dst = op.attrs["SrcT"], op.attrs["DstT"]
    ok = (src.is_floating or src.is_complex) and (dst.is_floating or dst.is_complex)
    return [cast(g, src) if ok else None]


register(OpDef("Cast", lambda op: [(op.attrs["DstT"], op.inputs[0].shape)], _cast_kernel, grad=_cast_grad))


def _select_kernel(xp, c, x, y):
    return xp.where(c, x, y)


def _select_infer(op):
    c, x, y = op.inputs
    from ..framework.tensor_shape import broadcast_shapes

    if x.dtype is not y.dtype:
        raise TypeError(f"SelectV2: x and y must have the same dtype, got {x.dtype.name} and {y.dtype.name}")
    return [(x.dtype, broadcast_shapes(broadcast_shapes(c.shape, x.shape), y.shape))]


def _select_grad(op, g):
    c = op.inputs[0]
    zeros = zeros_like(g)
    return [None, where_v2(c, g, zeros), where_v2(c, zeros, g)]


register(OpDef("SelectV2", _select_infer, _select_kernel, grad=_select_grad, broadcasting=True))


# ---- public API -----------------------------------------------------------------------------
def _unary_api(op_type: str, doc: str):
    def fn(x, name=None):
        return _u(op_type, x, name)

    fn.__doc__ = doc
    return fn


negative = _unary_api("Neg", "``-x`` elementwise.")
abs = _unary_api("Abs", "``|x|`` elementwise.")  # noqa: A001 (TF's name)
sign = _unary_api("Sign", "-1, 0 or 1 by the sign of x.")
square = _unary_api("Square", "``x * x`` elementwise.")
sqrt = _unary_api("Sqrt", "Square root elementwise.")
rsqrt = _unary_api("Rsqrt", "``1 / sqrt(x)`` elementwise.")
reciprocal = _unary_api("Reciprocal", "``1 / x`` elementwise.")
exp = _unary_api("Exp", "``e ** x`` elementwise.")
expm1 = _unary_api("Expm1", "``e ** x - 1`` elementwise.")
log = _unary_api("Log", "Natural logarithm elementwise.")
log1p = _unary_api("Log1p", "``log(1 + x)`` elementwise.")
sin = _unary_api("Sin", "Sine elementwise.")
cos = _unary_api("Cos", "Cosine elementwise.")
tan = _unary_api("Tan", "Tangent elementwise.")
tanh = _unary_api("Tanh", "Hyperbolic tangent elementwise.")
sigmoid = _unary_api("Sigmoid", "``1 / (1 + exp(-x))`` elementwise.")
relu = _unary_api("Relu", "``max(x, 0)`` elementwise.")
round = _unary_api("Round", "Round half to even, elementwise (as TF).")  # noqa: A001
floor = _unary_api("Floor", "Largest integer not greater than x.")
ceil = _unary_api("Ceil", "Smallest integer not less than x.")
logical_not = _unary_api("LogicalNot", "Elementwise NOT of a bool tensor.")
is_nan = _unary_api("IsNan", "True where x is NaN.")
is_inf = _unary_api("IsInf", "True where x is +-inf.")
is_finite = _unary_api("IsFinite", "True where x is finite.")


def add(x, y, name=None):
    """``x + y`` with broadcasting.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.add([1, 2], 10))
    array([11, 12], dtype=int32)
    """
    return _b("Add", x, y, name)


def subtract(x, y, name=None):
    return _b("Sub", x, y, name)


def multiply(x, y, name=None):
    return _b("Mul", x, y, name)


# TF's _TRUEDIV_TABLE: small integers divide in float32, 32/64-bit ones in float64; other dtypes
# (bool, uint32, uint64, string) have no true division.
_TRUEDIV_CAST = {dtypes.uint8: dtypes.float32, dtypes.int8: dtypes.float32, dtypes.uint16: dtypes.float32,
                 dtypes.int16: dtypes.float32, dtypes.int32: dtypes.float64, dtypes.int64: dtypes.float64}


def truediv(x, y, name=None):
    """``x / y``; integer inputs are cast to floating point first (as TF); bool raises TypeError."""
    with name_scope(name, "truediv", [x, y]) as scope:
        x, y = binary_inputs(x, y)
        if x.dtype is not y.dtype:
            raise TypeError(f"x and y must have the same dtype, got {x.dtype.name} != {y.dtype.name}")
        if x.dtype in _TRUEDIV_CAST:
            to = _TRUEDIV_CAST[x.dtype]
            x, y = cast(x, to), cast(y, to)
        elif not (x.dtype.is_floating or x.dtype.is_complex):
            raise TypeError(f"Invalid dtype {x.dtype.name} in __truediv__")
        return make_op("RealDiv", [x, y], name=scope).outputs[0]


def divide(x, y, name=None):
    return truediv(x, y, name=name)


def realdiv(x, y, name=None):
    return _b("RealDiv", x, y, name)


def div(x, y, name=None):
    """TF1 ``tf.div``: Python 2 division, floor division for integers, true division for floats."""
    x, y = binary_inputs(x, y)
    if x.dtype.is_integer:
        return _b("FloorDiv", x, y, name or "div")
    return _b("RealDiv", x, y, name or "div")


def floordiv(x, y, name=None):
    """``x // y``, rounding toward -inf: one FloorDiv op for integers and floats alike (as TF)."""
    return _b("FloorDiv", x, y, name or "floordiv")


def floor_div(x, y, name=None):
    return _b("FloorDiv", x, y, name)


def mod(x, y, name=None):
    return _b("FloorMod", x, y, name)


floormod = mod


def truncatediv(x, y, name=None):
    """``x / y`` rounding toward zero (C's division); InvalidArgumentError on an integer division by 0."""
    return _b("TruncateDiv", x, y, name)


def truncatemod(x, y, name=None):
    """The remainder of :func:`truncatediv` (C's ``%``, NumPy's ``fmod``): its sign is ``x``'s."""
    return _b("TruncateMod", x, y, name)


def pow(x, y, name=None):  # noqa: A001 (TF's name)
    return _b("Pow", x, y, name)


def maximum(x, y, name=None):
    return _b("Maximum", x, y, name)


def minimum(x, y, name=None):
    return _b("Minimum", x, y, name)


def squared_difference(x, y, name=None):
    return _b("SquaredDifference", x, y, name)


def less(x, y, name=None):
    return _b("Less", x, y, name)


def less_equal(x, y, name=None):
    return _b("LessEqual", x, y, name)


def greater(x, y, name=None):
    return _b("Greater", x, y, name)


def greater_equal(x, y, name=None):
    return _b("GreaterEqual", x, y, name)


def equal(x, y, name=None):
    return _b("Equal", x, y, name)


def not_equal(x, y, name=None):
    return _b("NotEqual", x, y, name)


def logical_and(x, y, name=None):
    return _b("LogicalAnd", x, y, name)


def logical_or(x, y, name=None):
    return _b("LogicalOr", x, y, name)


def logical_xor(x, y, name="LogicalXor"):
    with name_scope(name, "LogicalXor", [x, y]):
        return logical_and(logical_or(x, y), logical_not(logical_and(x, y)))


def add_n(inputs, name=None):
    """The sum of a list of same-shaped tensors."""
    inputs = [convert_to_tensor(x) for x in inputs]
    if not inputs:
        raise ValueError("inputs must be a non-empty list")
    if len(inputs) == 1:  # as TF: the input itself, unless a name asks for a new tensor
        if name is None:
            return inputs[0]
        from .array import identity

        return identity(inputs[0], name=name)
    return make_op("AddN", inputs, name=name).outputs[0]


def cast(x, dtype, name=None):
    """``x`` converted to ``dtype`` (floats to integers truncate toward zero, as TF)."""
    x = convert_to_tensor(x)
    dtype = dtypes.as_dtype(dtype)
    if x.dtype is dtype:
        return x
    return make_op("Cast", [x], {"SrcT": x.dtype, "DstT": dtype}, name or "Cast").outputs[0]


def to_float(x, name="ToFloat"):
    return cast(x, dtypes.float32, name=name)


def to_int32(x, name="ToInt32"):
    return cast(x, dtypes.int32, name=name)


def to_int64(x, name="ToInt64"):
    return cast(x, dtypes.int64, name=name)


def to_double(x, name="ToDouble"):
    return cast(x, dtypes.float64, name=name)


def where_v2(condition, x, y, name=None):
    """Elementwise ``x if condition else y`` with broadcasting."""
    condition = convert_to_tensor(condition, dtype=dtypes.bool_)
    x, y = binary_inputs(x, y)
    return make_op("SelectV2", [condition, x, y], name=name or "SelectV2").outputs[0]


def zeros_like(x, dtype=None, name=None):
    from .array import zeros_like as _zl

    return _zl(x, dtype=dtype, name=name)


def ones_like(x, dtype=None, name=None):
    from .array import ones_like as _ol

    return _ol(x, dtype=dtype, name=name)


# ---- operators on tensors (TF1's op names: a + b is "add", a * b is "mul") -------------------
def _binary_operator(fn, name):
    def forward(self, other):
        return fn(self, other, name=name)

    def reverse(self, other):
        return fn(other, self, name=name)

    return forward, reverse


def _install_operators():
    table = {"add": (add, "add"), "sub": (subtract, "sub"), "mul": (multiply, "mul"),
             "truediv": (truediv, "truediv"), "floordiv": (floordiv, "floordiv"),
             "mod": (mod, "mod"), "pow": (pow, "pow"), "and": (logical_and, "and"),
             "or": (logical_or, "or"), "xor": (logical_xor, "xor")}
    for dunder, (fn, name) in table.items():
        fwd, rev = _binary_operator(fn, name)
        setattr(_OperatorMixin, f"__{dunder}__", fwd)
        setattr(_OperatorMixin, f"__r{dunder}__", rev)
    for dunder, fn in {"lt": less, "le": less_equal, "gt": greater, "ge": greater_equal}.items():
        setattr(_OperatorMixin, f"__{dunder}__", lambda self, other, _f=fn: _f(self, other))
    _OperatorMixin.__neg__ = lambda self: negative(self)
    _OperatorMixin.__abs__ = lambda self: abs(self)
    _OperatorMixin.__invert__ = lambda self: logical_not(self)

    def matmul_op(self, other):
        from .linalg import matmul

        return matmul(self, other)

    def rmatmul_op(self, other):
        from .linalg import matmul

        return matmul(other, self)

    _OperatorMixin.__matmul__ = matmul_op
    _OperatorMixin.__rmatmul__ = rmatmul_op


_install_operators()

# TF1's old names
mul = multiply
sub = subtract
neg = negative
select_v2 = where_v2
assert isinstance(np.add, np.ufunc) and Tensor is not None  # keep imports used by doctest readers
