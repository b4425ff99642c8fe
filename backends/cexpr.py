"""The per-op C expression table shared by the OpenCL and CUDA elementwise kernels.

One row per elementwise primitive: a C expression over the op's inputs ``{0}``, ``{1}``, ``{2}``, with
``{T}`` the C type of the output. Both OpenCL C and CUDA C accept these expressions (the math functions
used, ``exp``, ``log1p``, ``rint``, ``isnan``..., exist in both); a row may differ for floating and
integer operands (``FLOAT_ONLY`` ops have no integer kernel). A backend's elementwise template
(``backends/opencl/elementwise.py``, ``backends/cuda``) wraps one expression, or a whole fused program
(:func:`program_expression`), into a kernel.
"""

from __future__ import annotations

import numpy as np

# expressions valid for every dtype the op accepts
EXPR = {
    "Add": "{0} + {1}", "Sub": "{0} - {1}", "Mul": "{0} * {1}", "Neg": "-{0}", "Square": "{0} * {0}",
    "SquaredDifference": "({0} - {1}) * ({0} - {1})",
    "Maximum": "(({0} > {1} || {0} != {0}) ? {0} : {1})",  # NaN propagates, as np.maximum
    "Minimum": "(({0} < {1} || {0} != {0}) ? {0} : {1})",
    "Equal": "{0} == {1}", "NotEqual": "{0} != {1}", "Less": "{0} < {1}", "LessEqual": "{0} <= {1}",
    "Greater": "{0} > {1}", "GreaterEqual": "{0} >= {1}",
    "LogicalAnd": "{0} && {1}", "LogicalOr": "{0} || {1}", "LogicalNot": "!{0}",
    "Relu": "({0} < ({T})0 ? ({T})0 : {0})",            # NaN passes through, as max(x, 0)
    "ReluGrad": "({1} > 0 ? {0} : ({T})0)",               # TF: gradient where features > 0
    "SelectV2": "({0} ? {1} : {2})", "Select": "({0} ? {1} : {2})",
    "Cast": "({T})({0})", "Identity": "{0}", "StopGradient": "{0}",
    "Abs": "({0} < 0 ? -{0} : {0})",
}
# expressions for floating operands only (float32, float64)
FLOAT_EXPR = {
    "RealDiv": "{0} / {1}", "Div": "{0} / {1}", "Pow": "pow({0}, {1})",
    "Sqrt": "sqrt({0})", "Rsqrt": "({T})1 / sqrt({0})", "Reciprocal": "({T})1 / {0}",
    "Exp": "exp({0})", "Expm1": "expm1({0})", "Log": "log({0})", "Log1p": "log1p({0})",
    "Sin": "sin({0})", "Cos": "cos({0})", "Tan": "tan({0})", "Tanh": "tanh({0})",
    # NOTE: as the NumPy kernel: exp of -|x| never overflows, and each tail is a ratio without cancellation
    "Sigmoid": "({0} >= 0 ? ({T})1 / (({T})1 + exp(-{0})) : exp({0}) / (({T})1 + exp({0})))",
    "Floor": "floor({0})", "Ceil": "ceil({0})", "Round": "rint({0})",  # rint: half to even, as np.round
    "Sign": "({0} != {0} ? {0} : ({T})(({0} > 0) - ({0} < 0)))",
    "FloorDiv": "floor({0} / {1})", "FloorMod": "({0} - floor({0} / {1}) * {1})",
    "IsNan": "isnan({0})", "IsInf": "isinf({0})", "IsFinite": "isfinite({0})",
    "Abs": "fabs({0})",
    "TruncateDiv": "trunc({0} / {1})", "TruncateMod": "fmod({0}, {1})",
}
# integer variants of rows whose float form does not apply
INT_EXPR = {
    "Sign": "({T})(({0} > 0) - ({0} < 0))", "Round": "{0}", "Floor": "{0}", "Ceil": "{0}",
    "FloorDiv": "({0} / {1} - (({0} % {1} != 0) && (({0} < 0) != ({1} < 0))))",
    "FloorMod": "((({0} % {1}) != 0 && ((({0} % {1}) < 0) != ({1} < 0))) ? ({0} % {1}) + {1} : ({0} % {1}))",
    "TruncateDiv": "{0} / {1}", "TruncateMod": "{0} % {1}",  # C's integer division truncates
}


def expression(op_type: str, in_dtypes, n_inputs: int | None = None) -> str | None:
    """The C expression of ``op_type`` for operands of ``in_dtypes`` (NumPy dtypes), or None where no
    row applies (the op has no elementwise kernel for these dtypes). ``AddN`` sums ``n_inputs`` inputs."""
    if op_type == "AddN":
        return " + ".join(f"{{{i}}}" for i in range(n_inputs or len(in_dtypes)))
    floating = any(np.dtype(d).kind == "f" for d in in_dtypes)
    if any(np.dtype(d).kind == "c" for d in in_dtypes):
        return None  # complex numbers: no C kernels (they run on the CPU)
    if floating and op_type in FLOAT_EXPR:
        return FLOAT_EXPR[op_type]
    if not floating and op_type in INT_EXPR:
        return INT_EXPR[op_type]
    return EXPR.get(op_type)


def program_expression(program, outputs, in_dtypes, out_dtypes, ctype, arg) -> tuple[list, list]:
    """C statements evaluating a ``FusedElementwise`` program element by element.

    ``program`` is a tuple of steps ``(tf_op_type, (("in", i) | ("step", j), ...), attrs)``; ``outputs``
    the step indices returned. ``arg(i)`` is the C expression reading input ``i`` at the current element;
    ``ctype(dtype)`` the C type name. Returns (statements, output expressions); raises KeyError naming a
    step with no C expression. The dtypes of the steps are inferred as NumPy's type promotion does.
    """
    step_dtypes: list = []
    lines: list = []

    def operand(a):
        kind, i = a
        return (arg(i), np.dtype(in_dtypes[i])) if kind == "in" else (f"s{i}", step_dtypes[i])

    for j, (op_type, args, attrs) in enumerate(program):
        vals = [operand(a) for a in args]
        attrs = dict(attrs or ())
        expr = expression(op_type, [d for _, d in vals], len(vals))
        if expr is None:
            raise KeyError(f"no C expression for {op_type} on {[str(d) for _, d in vals]} (fused step {j})")
        if op_type in ("Equal", "NotEqual", "Less", "LessEqual", "Greater", "GreaterEqual", "LogicalAnd",
                       "LogicalOr", "LogicalNot", "IsNan", "IsInf", "IsFinite"):
            dt = np.dtype(bool)
        elif op_type == "Cast":
            dt = attrs.get("DstT", attrs.get("dtype", out_dtypes[0]))
            dt = np.dtype(getattr(dt, "as_numpy_dtype", dt))
        elif op_type in ("Select", "SelectV2"):
            dt = np.result_type(vals[1][1], vals[2][1])
        else:
            dt = np.result_type(*[d for _, d in vals])
        if j in outputs and op_type != "Cast":
            dt = np.dtype(out_dtypes[list(outputs).index(j)]) if dt.kind == np.dtype(
                out_dtypes[list(outputs).index(j)]).kind else dt
        step_dtypes.append(dt)
        t = ctype(dt)
        lines.append(f"{t} s{j} = ({t})({expr.format(*[v for v, _ in vals], T=t)});")
    return lines, [f"s{j}" for j in outputs]
