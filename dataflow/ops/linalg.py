"""Linear algebra. Primitives: MatMul (rank 2, transpose flags), BatchMatMulV2 (broadcast batch dims),
Einsum, MatrixInverse, MatrixDeterminant, Cholesky and Svd (kernels over ``xp.einsum`` / ``xp.linalg``).
Composed from them and from movement and elementwise ops: tensordot, norm, eye, diag/diag_part,
matrix_diag(_part), matrix_set_diag, matrix_band_part, trace, matrix_transpose.

Einsum's gradient with respect to one operand is another einsum: the upstream gradient contracted with
the other operands onto the operand's labels (see :func:`_einsum_grad`). Labels that only that operand
has (summed inside it) come back through a vector of ones, a repeated label (a diagonal) through an
identity matrix, and dimensions that broadcast are summed back by SumToShape.
"""

from __future__ import annotations

import string

import numpy as np

from ..framework import dtypes
from ..framework.graph import Tensor, convert_to_tensor, is_tensor_like, make_op, name_scope
from ..framework.registry import OpDef, register
from ..framework.tensor_shape import TensorShape, broadcast_shapes
from .array import broadcast_to, expand_dims, ones, rank, reshape, squeeze, sum_to_shape, transpose, zeros
from .common import constant_value, shape_of
from .gather import _dim, gather, pad
from .gather import range as _range
from .indexing import concat, stack
from .math import abs as _abs
from .math import (
    cast, equal, greater_equal, less, less_equal, logical_and, logical_or, minimum, pow, sqrt, where_v2)
from .reduction import reduce_max, reduce_prod, reduce_sum

__all__ = ["cholesky", "diag", "diag_part", "einsum", "eye", "matmul", "matrix_band_part", "matrix_determinant",
           "matrix_diag", "matrix_diag_part", "matrix_inverse", "matrix_set_diag", "matrix_transpose", "norm",
           "svd", "tensordot", "trace"]


def _matmul_infer(op):
    a, b = op.inputs
    if a.dtype is not b.dtype:
        raise TypeError(f"MatMul inputs must have the same dtype, got {a.dtype.name} and {b.dtype.name}")
    ta, tb = op.attrs["transpose_a"], op.attrs["transpose_b"]
    sa, sb = a.shape.with_rank(2), b.shape.with_rank(2)
    m, k1 = (sa[1], sa[0]) if ta else (sa[0], sa[1])
    k2, n = (sb[1], sb[0]) if tb else (sb[0], sb[1])
    if not k1.is_compatible_with(k2):
        raise ValueError(f"Dimensions must be equal, but are {k1} and {k2} for 'MatMul' with input shapes: "
                         f"{a.shape}, {b.shape}.")
    return [(a.dtype, TensorShape([m, n]))]


# a @ b.T with few rows in a and a large b (a dense layer's input gradient, g @ w.T over a small batch):
# OpenBLAS is 15-60% faster computing (b @ a.T).T and copying the small result (measured on NumPy 2.4's
# OpenBLAS: 64x1024 @ (3136x1024).T 2.04 -> 1.63 ms, 16 rows 1.36 -> 0.52 ms); slower below these sizes
# (128x256 @ (256x256).T: 66 -> 91 us), where the direct call is kept.
TRANSPOSED_B_MAX_ROWS = 64
TRANSPOSED_B_MIN_SIZE = 1 << 19


def _matmul_kernel(xp, a, b, *, transpose_a, transpose_b):
    if (transpose_b and not transpose_a and xp is np and a.ndim == 2 and a.shape[0] <= TRANSPOSED_B_MAX_ROWS
            and b.size >= TRANSPOSED_B_MIN_SIZE):
        return np.ascontiguousarray(np.matmul(b, a.T).T)
    return xp.matmul(a.T if transpose_a else a, b.T if transpose_b else b)


def _mm(x, y, ta=False, tb=False):
    return make_op("MatMul", [x, y], {"transpose_a": ta, "transpose_b": tb}).outputs[0]


def _matmul_grad(op, g):
    a, b = op.inputs
    ta, tb = op.attrs["transpose_a"], op.attrs["transpose_b"]
    if not ta and not tb:
        return [_mm(g, b, tb=True), _mm(a, g, ta=True)]
    if not ta and tb:
        return [_mm(g, b), _mm(g, a, ta=True)]
    if ta and not tb:
        return [_mm(b, g, tb=True), _mm(a, g)]
    return [_mm(b, g, ta=True, tb=True), _mm(g, a, ta=True, tb=True)]


register(OpDef("MatMul", _matmul_infer, _matmul_kernel, grad=_matmul_grad))


def _batch_infer(op):
    a, b = op.inputs
    if a.dtype is not b.dtype:
        raise TypeError(f"BatchMatMul inputs must have the same dtype, got {a.dtype.name} and {b.dtype.name}")
    if a.shape.ndims is None or b.shape.ndims is None:
        return [(a.dtype, TensorShape(None))]
    sa, sb = a.shape.as_list(), b.shape.as_list()
    if len(sa) < 2 or len(sb) < 2:
        raise ValueError("BatchMatMul inputs must have rank >= 2")
    m, k1 = (sa[-1], sa[-2]) if op.attrs["adj_x"] else (sa[-2], sa[-1])
    k2, n = (sb[-1], sb[-2]) if op.attrs["adj_y"] else (sb[-2], sb[-1])
    if k1 is not None and k2 is not None and k1 != k2:
        raise ValueError(f"Dimensions must be equal, but are {k1} and {k2} for 'BatchMatMul' with input "
                         f"shapes: {a.shape}, {b.shape}.")
    batch = broadcast_shapes(TensorShape(sa[:-2]), TensorShape(sb[:-2]))
    return [(a.dtype, batch.concatenate([m, n]))]


def _swap(xp, x):
    return xp.swapaxes(x, -1, -2)


def _batch_kernel(xp, a, b, *, adj_x, adj_y):
    return xp.matmul(_swap(xp, a) if adj_x else a, _swap(xp, b) if adj_y else b)


def _bmm(x, y, ax=False, ay=False):
    return make_op("BatchMatMulV2", [x, y], {"adj_x": ax, "adj_y": ay}).outputs[0]


def _batch_grad(op, g):
    a, b = op.inputs
    ax, ay = op.attrs["adj_x"], op.attrs["adj_y"]
    if not ax and not ay:
        return [_bmm(g, b, ay=True), _bmm(a, g, ax=True)]
    if not ax and ay:
        return [_bmm(g, b), _bmm(g, a, ax=True)]
    if ax and not ay:
        return [_bmm(b, g, ay=True), _bmm(a, g)]
    return [_bmm(b, g, ax=True, ay=True), _bmm(g, a, ax=True, ay=True)]


register(OpDef("BatchMatMulV2", _batch_infer, _batch_kernel, grad=_batch_grad, broadcasting=True,
               broadcast_core_dims=2))


def matmul(a, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False,
           a_is_sparse=False, b_is_sparse=False, name=None):
    """Matrix product ``a @ b``; inputs of rank > 2 are batches of matrices (batch dims broadcast).

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.matmul([[1., 2.]], [[3.], [4.]]))
    array([[11.]], dtype=float32)
    """
    a, b = convert_to_tensor(a), convert_to_tensor(b)
    ta, tb = transpose_a or adjoint_a, transpose_b or adjoint_b
    if a.shape.ndims == 2 and b.shape.ndims == 2:
        return make_op("MatMul", [a, b], {"transpose_a": ta, "transpose_b": tb}, name).outputs[0]
    return make_op("BatchMatMulV2", [a, b], {"adj_x": ta, "adj_y": tb}, name or "MatMul").outputs[0]


# ---- Einsum ---------------------------------------------------------------------------------
_LABELS = string.ascii_letters
_ELL = "..."


def _tokens(subscripts: str) -> list:
    """``"a...bc"`` -> ``["a", "...", "b", "c"]``: one token per axis label, ``...`` standing for many."""
    head, ell, tail = subscripts.partition(_ELL)
    return list(head) + ([_ELL] if ell else []) + list(tail)


def _parse_einsum(equation: str, n: int):
    """The equation's input and output subscripts as token lists; the implicit form (no ``->``) gets
    NumPy's output: ``...``, then the labels that appear once, in alphabetical order."""
    if not isinstance(equation, str):
        raise TypeError(f"einsum equation must be a string, got {equation!r}")
    lhs, arrow, out = equation.replace(" ", "").partition("->")
    ins = lhs.split(",")
    if len(ins) != n:
        raise ValueError(f"einsum equation {equation!r} has subscripts for {len(ins)} inputs, got {n} inputs")
    for s in ins + ([out] if arrow else []):
        if any(c not in _LABELS for c in s.replace(_ELL, "", 1)):
            raise ValueError(f"Invalid einsum subscripts {s!r} in {equation!r}: letters and at most one '...' "
                             "per operand")
    ins = [_tokens(s) for s in ins]
    has_ell = any(_ELL in s for s in ins)
    if not arrow:
        labels = [c for s in ins for c in s if c != _ELL]
        return ins, ([_ELL] if has_ell else []) + sorted(c for c in set(labels) if labels.count(c) == 1)
    out = _tokens(out)
    if len(set(out)) != len(out):
        raise ValueError(f"einsum output subscripts {''.join(out)!r} repeat a label: unsupported (that would "
                         f"be a diagonal embedding) in {equation!r}")
    missing = [c for c in out if c != _ELL and not any(c in s for s in ins)]
    if missing:
        raise ValueError(f"einsum output label(s) {missing} appear in no input of {equation!r}")
    if has_ell and _ELL not in out:
        raise ValueError(f"einsum {equation!r}: the output needs '...' since an input has it")
    return ins, out


def _equation(ins, out) -> str:
    return ",".join("".join(s) for s in ins) + "->" + "".join(out)


def _einsum_infer(op):
    ins, out = _parse_einsum(op.attrs["equation"], len(op.inputs))
    dt = op.inputs[0].dtype
    for x in op.inputs:
        if x.dtype is not dt:
            raise TypeError(f"Einsum inputs must have the same dtype, got {dt.name} and {x.dtype.name}")
    if not dt.is_numeric:
        raise TypeError(f"Einsum does not support {dt.name} inputs")
    dims: dict = {}
    ell = TensorShape([])
    for s, x in zip(ins, op.inputs):
        if x.shape.ndims is None:
            ell = TensorShape(None) if _ELL in s else ell
            continue
        shape, r, k = x.shape.as_list(), x.shape.ndims, len(s) - (_ELL in s)
        if r < k or (_ELL not in s and r != k):
            raise ValueError(f"einsum subscripts {''.join(s)!r} name {k} axes of an input of rank {r} "
                             f"(shape {x.shape})")
        split = s.index(_ELL) if _ELL in s else k
        ell = broadcast_shapes(ell, TensorShape(shape[split:split + r - k]))
        for c, d in zip(s[:split] + s[split + 1:], shape[:split] + shape[split + r - k:]):
            try:  # NOTE: as NumPy's einsum, a label of size 1 broadcasts against the others
                dims[c] = broadcast_shapes(TensorShape([dims.get(c, 1)]), TensorShape([d]))[0].value
            except ValueError:
                raise ValueError(f"einsum label {c!r} has size {dims[c]} and {d} in {op.attrs['equation']!r}, "
                                 f"input shapes {[str(t.shape) for t in op.inputs]}") from None
    if _ELL in out and ell.ndims is None:
        return [(dt, TensorShape(None))]
    shape = []
    for c in out:
        shape.extend(ell.as_list() if c == _ELL else [dims.get(c)])
    return [(dt, TensorShape(shape))]


def _einsum_kernel(xp, *operands, equation):
    # NOTE: optimize lets NumPy contract pairs through BLAS (tensordot), far faster than its own loops
    return xp.einsum(equation, *operands, optimize="greedy" if len(operands) > 1 else False)


def _einsum_op(ins, out, operands, name=None) -> Tensor:
    return make_op("Einsum", list(operands), {"equation": _equation(ins, out)}, name or "Einsum").outputs[0]


def _label_ellipses(ins, out, xs):
    """Replace ``...`` by explicit fresh labels (right-aligned, as broadcasting is); None when a rank that
    needs to be known is not."""
    ranks = []
    for s, x in zip(ins, xs):
        if _ELL in s and x.shape.ndims is None:
            return None
        ranks.append(x.shape.ndims - len(s) + 1 if _ELL in s else 0)
    fresh = [c for c in _LABELS if not any(c in s for s in ins)]
    nb = max(ranks)
    if nb > len(fresh):
        raise NotImplementedError("einsum gradient: too many axes for the 52 einsum labels")
    e = fresh[:nb]

    def expand(s, r):
        return [t for c in s for t in (e[nb - r:] if c == _ELL else [c])]

    return [expand(s, r) for s, r in zip(ins, ranks)], expand(out, nb)


def _axis_of(s, k: int) -> int:
    """The axis of token ``k`` of subscripts ``s``: counted from the end when it follows a ``...``."""
    return k - len(s) if _ELL in s[:k] else k


def _einsum_grad(op, g):
    ins, out = _parse_einsum(op.attrs["equation"], len(op.inputs))
    xs = list(op.inputs)
    if any(_ELL in s for s in ins):
        labelled = _label_ellipses(ins, out, xs)
        if labelled is not None:
            ins, out = labelled
        elif len(xs) > 1 and not all(s[0] == _ELL for s in ins if _ELL in s):
            raise NotImplementedError("The gradient of einsum with '...' after a label needs operands of known "
                                      f"rank: {op.attrs['equation']!r}")
    used = {c for s in ins for c in s}
    fresh = [c for c in _LABELS if c not in used]
    grads = []
    for i, (s, x) in enumerate(zip(ins, xs)):
        others = [(t, y) for j, (t, y) in enumerate(zip(ins, xs)) if j != i]
        seen = set(out).union(*(t for t, _ in others))
        uniq = list(dict.fromkeys(s))
        keep = [c for c in uniq if c in seen]
        gi = g if not others and keep == out else \
            _einsum_op([out] + [t for t, _ in others], keep, [g] + [y for _, y in others])
        if keep != s:  # labels summed inside x alone come back through ones, a diagonal through an identity
            subs, operands, target = [keep], [gi], list(s)
            for c in uniq:
                if c not in seen:
                    subs.append([c])
                    operands.append(ones([_dim(x, _axis_of(s, s.index(c)))], x.dtype))
            for k, c in enumerate(s):
                if c in s[:k]:
                    target[k] = fresh.pop()
                    subs.append([c, target[k]])
                    operands.append(eye(_dim(x, _axis_of(s, k)), dtype=x.dtype))
            gi = _einsum_op(subs, target, operands)
        if not (gi.shape.is_fully_defined() and x.shape.is_fully_defined() and gi.shape == x.shape):
            gi = sum_to_shape(gi, shape_of(x))  # dimensions of size 1 in x that broadcast
        grads.append(gi)
    return grads


register(OpDef("Einsum", _einsum_infer, _einsum_kernel, grad=_einsum_grad, view=True))


def einsum(equation: str, *inputs, **kwargs) -> Tensor:
    """A tensor contraction in Einstein notation, as ``numpy.einsum``: ``"ij,jk->ik"`` is a matrix
    product, ``"ii->i"`` a diagonal, ``"...ij->...ji"`` a batch transpose. Without ``->`` the output has
    the labels seen once, sorted. An output label may not repeat.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.einsum("ij,j->i", [[1., 2.], [3., 4.]], [1., 1.]))
    array([3., 7.], dtype=float32)
    """
    name = kwargs.pop("name", None)
    if kwargs:
        raise TypeError(f"Invalid keyword arguments for einsum: {sorted(kwargs)}")
    first = next((convert_to_tensor(x).dtype for x in inputs if is_tensor_like(x)), None)
    xs = [convert_to_tensor(x, dtype=None if is_tensor_like(x) else first) for x in inputs]
    ins, out = _parse_einsum(equation, len(xs))
    return _einsum_op(ins, out, xs, name)


# ---- MatrixInverse, MatrixDeterminant, Cholesky, Svd -----------------------------------------------
_LINALG_DTYPES = (dtypes.float32, dtypes.float64)  # NOTE: the gradient rules below are for real matrices


def _matrices(op, square=True) -> TensorShape:
    """The input's static shape, checked: a floating (batch of) matrices, square unless said."""
    x = op.inputs[0]
    if x.dtype not in _LINALG_DTYPES:
        raise TypeError(f"{op.type} does not support {x.dtype.name} inputs (float32 and float64 only)")
    s = x.shape
    if s.ndims is not None and s.ndims < 2:
        raise ValueError(f"Shape must be at least rank 2 but is rank {s.ndims}, for {op.type} with input shape {s}")
    if square and s.ndims is not None and None not in (s[-1].value, s[-2].value) and s[-1].value != s[-2].value:
        raise ValueError(f"Dimensions must be equal, but are {s[-2].value} and {s[-1].value}: {op.type} needs "
                         f"square matrices, got shape {s}")
    return s


def _solve(xp, fn, x, message):
    try:
        if getattr(xp, "__name__", "") == "cupy":  # CuPy returns NaNs unless asked to check (a device sync)
            import cupyx

            with cupyx.errstate(linalg="raise"):
                return fn(x)
        return fn(x)
    except getattr(xp.linalg, "LinAlgError", ValueError):
        raise ValueError(message) from None


def _inverse_kernel(xp, x, *, adjoint):
    return _solve(xp, xp.linalg.inv, xp.swapaxes(x, -1, -2) if adjoint else x, "Input is not invertible.")


def _inverse_grad(op, g):
    # d(A^-1) = -A^-1 dA A^-1: the gradient is -A^-T g A^-T, and -Y g^T Y for Y = inv(A^T) (adjoint)
    y = op.outputs[0]
    if op.attrs["adjoint"]:
        return [-matmul(y, matmul(g, y, adjoint_a=True))]
    return [-matmul(y, matmul(g, y, adjoint_b=True), adjoint_a=True)]


def _det_infer(op):
    s = _matrices(op)
    return [(op.inputs[0].dtype, s[:-2] if s.ndims is not None else TensorShape(None))]


def _det_kernel(xp, x):
    return xp.asarray(xp.linalg.det(x))


def _det_grad(op, g):
    # d det(A) = det(A) tr(A^-1 dA): the gradient is g det(A) A^-T
    c = expand_dims(expand_dims(g * op.outputs[0], -1), -1)
    return [c * matrix_inverse(op.inputs[0], adjoint=True)]


def _cholesky_kernel(xp, x):
    return _solve(xp, xp.linalg.cholesky, x, "Cholesky decomposition was not successful. The input might not be "
                                               "valid.")


def _cholesky_grad(op, g):
    # TF's rule (Murray 2016): with L^-1, phi(L^T g) (its lower triangle, half the diagonal) gives
    # L^-T phi L^-1, symmetrized: the input is read as a symmetric matrix.
    l = op.outputs[0]
    l_inv = matrix_inverse(l)
    middle = matmul(l, g, adjoint_a=True)
    middle = matrix_band_part(middle, -1, 0) - 0.5 * matrix_diag(matrix_diag_part(middle))
    grad = matmul(matmul(l_inv, middle, adjoint_a=True), l_inv)
    return [0.5 * (grad + matrix_transpose(grad))]


def _svd_infer(op):
    s = _matrices(op, square=False)
    x, uv = op.inputs[0], op.attrs["compute_uv"]
    if s.ndims is None:
        return [(x.dtype, TensorShape(None))] * 3
    batch, (m, n) = s.as_list()[:-2], s.as_list()[-2:]
    k = None if None in (m, n) else min(m, n)
    full = op.attrs["full_matrices"]
    u = batch + [m, m if full else k] if uv else [0]
    v = batch + [n, n if full else k] if uv else [0]
    return [(x.dtype, TensorShape(batch + [k])), (x.dtype, TensorShape(u)), (x.dtype, TensorShape(v))]


def _svd_kernel(xp, x, *, compute_uv, full_matrices):
    message = "SVD did not converge"
    if not compute_uv:
        s = _solve(xp, lambda a: xp.linalg.svd(a, compute_uv=False), x, message)
        return s, xp.zeros((0,), x.dtype), xp.zeros((0,), x.dtype)
    u, s, vh = _solve(xp, lambda a: xp.linalg.svd(a, full_matrices=full_matrices), x, message)
    return s, u, xp.swapaxes(vh, -1, -2)


def _svd_grad(op, g_s, g_u, g_v):
    # Only the singular values' gradient, U diag(g_s) V^H (as TF when compute_uv=False). A gradient through
    # u or v needs the full rule, not implemented: zeros filled in by tf.gradients are recognized.
    if op.attrs["compute_uv"] and not (g_u.op.type == g_v.op.type == "ZerosLike"):
        raise NotImplementedError("The gradient of svd through u and v is not implemented (only through s)")
    if op.attrs["compute_uv"] and not op.attrs["full_matrices"]:
        u, v = op.outputs[1:]
    else:
        _, u, v = make_op("Svd", [op.inputs[0]], {"compute_uv": True, "full_matrices": False}).outputs
    return [matmul(u * expand_dims(g_s, -2), v, adjoint_b=True)]


register(OpDef("MatrixInverse", lambda op: [(op.inputs[0].dtype, _matrices(op))], _inverse_kernel,
               grad=_inverse_grad))
register(OpDef("MatrixDeterminant", _det_infer, _det_kernel, grad=_det_grad))
register(OpDef("Cholesky", lambda op: [(op.inputs[0].dtype, _matrices(op))], _cholesky_kernel, grad=_cholesky_grad))
register(OpDef("Svd", _svd_infer, _svd_kernel, grad=_svd_grad))


def matrix_inverse(input, adjoint=False, name=None) -> Tensor:
    """The inverse of each square matrix in the last two dims (of its adjoint with ``adjoint``); a singular
    matrix is an InvalidArgumentError when the graph runs.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.matrix_inverse([[2., 0.], [0., 4.]]))
    array([[0.5 , 0.  ],
           [0.  , 0.25]], dtype=float32)
    """
    x = convert_to_tensor(input)
    return make_op("MatrixInverse", [x], {"adjoint": bool(adjoint)}, name or "MatrixInverse").outputs[0]


def matrix_determinant(input, name=None) -> Tensor:
    """The determinant of each square matrix in the last two dims.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.matrix_determinant([[1., 2.], [3., 4.]]))
    np.float32(-2.0)
    """
    return make_op("MatrixDeterminant", [convert_to_tensor(input)], name=name or "MatrixDeterminant").outputs[0]


def cholesky(input, name=None) -> Tensor:
    """The lower-triangular ``L`` with ``L @ L^H = input`` for each symmetric positive-definite matrix (only
    the lower triangle is read); otherwise an InvalidArgumentError when the graph runs.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.cholesky([[4., 2.], [2., 2.]]))
    array([[2., 0.],
           [1., 1.]], dtype=float32)
    """
    return make_op("Cholesky", [convert_to_tensor(input)], name=name or "Cholesky").outputs[0]


def svd(tensor, full_matrices=False, compute_uv=True, name=None):
    """Singular values ``s`` (descending) of each matrix in the last two dims; with ``compute_uv`` also
    ``u`` and ``v``, ``tensor = u @ diag(s) @ v^H``: returns ``(s, u, v)``, else ``s``. Differentiable
    through ``s`` only.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.svd([[3., 0.], [0., -4.]], compute_uv=False))
    array([4., 3.], dtype=float32)
    """
    s, u, v = make_op("Svd", [convert_to_tensor(tensor)],
                      {"compute_uv": bool(compute_uv), "full_matrices": bool(full_matrices)}, name or "Svd").outputs
    return (s, u, v) if compute_uv else s


# ---- tensordot ------------------------------------------------------------------------------
def _prod_of_dims(x: Tensor, axes):
    """The product of ``x``'s sizes along ``axes``: a Python int when static, else an int32 tensor."""
    dims = [_dim(x, i) for i in axes]
    if all(isinstance(d, int) for d in dims):
        return int(np.prod(dims, dtype=np.int64))
    return reduce_prod(gather(shape_of(x), list(axes)))


def _tensordot_axes(axes, ra: int, rb: int):
    v = constant_value(axes) if is_tensor_like(axes) else axes
    if v is None:
        raise NotImplementedError("tensordot axes must be known when the graph is built")
    if not isinstance(v, (list, tuple)) and np.ndim(v) == 0:
        n = int(v)
        if n < 0 or n > min(ra, rb):
            raise ValueError(f"'axes' must be in [0, {min(ra, rb)}] for inputs of rank {ra} and {rb}, got {n}")
        return list(range(ra - n, ra)), list(range(n))
    if len(v) != 2:
        raise ValueError(f"'axes' must be an integer or have length 2, got {axes!r}")
    a_axes, b_axes = ([int(i) for i in np.asarray(part, dtype=np.int64).reshape(-1)] for part in v)
    if len(a_axes) != len(b_axes):
        raise ValueError(f"Different number of contraction axes 'a' and 'b', {len(a_axes)} != {len(b_axes)}.")
    for axes_, r in ((a_axes, ra), (b_axes, rb)):
        if any(not -r <= i < r for i in axes_) or len({i % r for i in axes_}) != len(axes_):
            raise ValueError(f"Invalid contraction axes {axes_} for a tensor of rank {r}")
    return [i % ra for i in a_axes], [i % rb for i in b_axes]


def tensordot(a, b, axes, name=None) -> Tensor:
    """The sum of products of ``a`` and ``b`` over ``axes``: an int N (the last N axes of ``a`` with the
    first N of ``b``) or a pair of axis lists. The result has ``a``'s free axes, then ``b``'s.
    Computed as one matrix product of transposed, reshaped operands.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.tensordot([[1., 2.], [3., 4.]], [1., 10.], axes=1))
    array([21., 43.], dtype=float32)
    """
    with name_scope(name, "Tensordot", [a, b]) as scope:
        first = next((convert_to_tensor(x).dtype for x in (a, b) if is_tensor_like(x)), None)
        a, b = (convert_to_tensor(x, dtype=None if is_tensor_like(x) else first) for x in (a, b))
        if a.shape.ndims is None or b.shape.ndims is None:
            raise ValueError("tensordot needs inputs of known rank")
        ra, rb = a.shape.ndims, b.shape.ndims
        a_axes, b_axes = _tensordot_axes(axes, ra, rb)
        for i, j in zip(a_axes, b_axes):
            if not a.shape[i].is_compatible_with(b.shape[j]):
                raise ValueError(f"tensordot: axis {i} of a (shape {a.shape}) and axis {j} of b (shape {b.shape}) "
                                 "differ in size")
        free_a = [i for i in range(ra) if i not in a_axes]
        free_b = [i for i in range(rb) if i not in b_axes]

        def as_matrix(x, rows, cols):
            m = transpose(x, rows + cols) if rows + cols != sorted(rows + cols) else x
            return reshape(m, [_prod_of_dims(x, rows), _prod_of_dims(x, cols)])

        product = matmul(as_matrix(a, free_a, a_axes), as_matrix(b, b_axes, free_b))
        return reshape(product, [_dim(a, i) for i in free_a] + [_dim(b, i) for i in free_b], name=scope)


# ---- norm -----------------------------------------------------------------------------------
def _matrix_2_norm(x: Tensor, axis) -> Tensor:
    """The largest singular value over the two ``axis``, kept as size-1 dims."""
    r = x.shape.ndims
    perm = [i for i in range(r) if i not in axis] + list(axis)
    moved = x if perm == list(range(r)) else transpose(x, perm)
    top = expand_dims(reduce_max(svd(moved, compute_uv=False), -1, keepdims=True), -1)
    return top if perm == list(range(r)) else transpose(top, [int(i) for i in np.argsort(perm)])


def norm(tensor, ord="euclidean", axis=None, keepdims=None, name=None, keep_dims=None) -> Tensor:
    """The norm of a vector (``axis`` None: all of ``tensor``; an int: along it) or of matrices (``axis`` a
    pair). ``ord``: ``'euclidean'`` (the 2-norm of vectors, Frobenius of matrices), ``'fro'``, 1, 2,
    ``np.inf`` or, for vectors, any p > 0.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.norm([[3., 4.], [0., 0.]], axis=1))
    array([5., 0.], dtype=float32)
    """
    keepdims = bool(keep_dims if keepdims is None else keepdims)
    is_int = lambda a: isinstance(a, (int, np.integer)) and not isinstance(a, bool)  # noqa: E731
    is_matrix = isinstance(axis, (tuple, list)) and len(axis) == 2 and all(map(is_int, axis)) and axis[0] != axis[1]
    if not (axis is None or is_int(axis) or is_matrix):
        raise ValueError(f"'axis' must be None, an integer, or a tuple of 2 unique integers, got {axis}")
    if is_matrix and not any(ord is o or ord == o for o in ("euclidean", "fro", 1, 2, np.inf)):
        raise ValueError(f"'ord' must be a supported matrix norm in ['euclidean', 'fro', 1, 2, inf], got {ord}")
    if not is_matrix and not (ord == "euclidean" or isinstance(ord, (int, float, np.number)) and ord > 0):
        raise ValueError(f"'ord' must be a supported vector norm, got {ord}")
    axis = tuple(axis) if is_matrix else None if axis is None else (int(axis),)
    with name_scope(name, "norm", [tensor]):
        x = convert_to_tensor(tensor)
        if not x.dtype.is_floating:
            raise TypeError(f"norm needs a floating-point tensor, got {x.dtype.name}")
        if axis is not None and x.shape.ndims is not None:
            r = x.shape.ndims
            if any(not -r <= a < r for a in axis) or len({a % r for a in axis}) != len(axis):
                raise ValueError(f"Invalid axis {axis} for a tensor of rank {r}")
            axis = tuple(a % r for a in axis)
        if is_matrix and ord == 2:
            if x.shape.ndims is None:
                raise ValueError("norm(ord=2) of matrices needs an input of known rank")
            result = _matrix_2_norm(x, axis)
        elif ord in ("euclidean", "fro") or ord == 2:
            # NOTE: sqrt of the sum of squares, as TF: at an all-zero input its gradient is NaN, as TF's.
            result = sqrt(reduce_sum(x * x, axis, keepdims=True))
        else:
            a = _abs(x)
            if ord == 1:  # Abs's gradient at 0 is 0
                result = reduce_sum(a, None if axis is None else axis[0], keepdims=True)
                result = reduce_max(result, axis[1], keepdims=True) if is_matrix else result
            elif ord == np.inf:
                a = reduce_sum(a, axis[1], keepdims=True) if is_matrix else a
                result = reduce_max(a, None if axis is None else axis[0], keepdims=True)
            else:
                result = pow(reduce_sum(pow(a, float(ord)), axis, keepdims=True), 1.0 / float(ord))
        return result if keepdims else squeeze(result, axis)


# ---- eye, diagonals, bands, trace, transpose ---------------------------------------------------
def _index_range(n) -> Tensor:
    return _range(cast(n, dtypes.int32) if is_tensor_like(n) else n)


def eye(num_rows, num_columns=None, batch_shape=None, dtype=dtypes.float32, name=None) -> Tensor:
    """An identity matrix ``[num_rows, num_columns]`` (square by default), or a batch of them with leading
    dims ``batch_shape``.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.eye(2, 3, dtype=tf.int32))
    array([[1, 0, 0],
           [0, 1, 0]], dtype=int32)
    """
    with name_scope(name, "eye", [num_rows, num_columns, batch_shape]):
        dtype = dtypes.as_dtype(dtype)
        rows = _index_range(num_rows)
        cols = rows if num_columns is None else _index_range(num_columns)
        m = cast(equal(expand_dims(rows, 1), cols), dtype)
        if batch_shape is None:
            return m
        if is_tensor_like(batch_shape):
            return broadcast_to(m, concat([cast(batch_shape, dtypes.int32), shape_of(m)], 0))
        return broadcast_to(m, [int(d) for d in batch_shape] + [_dim(m, 0), _dim(m, 1)])


def _zero(dtype) -> np.ndarray:
    return np.zeros((), dtype.as_numpy_dtype)


def _matrix_input(input, what: str) -> Tensor:
    x = convert_to_tensor(input)
    if x.shape.ndims is not None and x.shape.ndims < 2:
        raise ValueError(f"{what}: input must be at least rank 2 (a batch of matrices), got shape {x.shape}")
    return x


def matrix_diag(diagonal, name=None) -> Tensor:
    """Square matrices with ``diagonal`` (its last axis) on their diagonals: ``[..., N]`` -> ``[..., N, N]``.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.matrix_diag([1, 2]))
    array([[1, 0],
           [0, 2]], dtype=int32)
    """
    v = convert_to_tensor(diagonal)
    if v.shape.ndims == 0:
        raise ValueError("matrix_diag: input must be at least rank 1, got a scalar")
    mask = eye(_dim(v, -1), dtype=dtypes.bool_)
    return where_v2(mask, expand_dims(v, -1), _zero(v.dtype), name=name or "MatrixDiag")


def matrix_diag_part(input, name=None) -> Tensor:
    """The main diagonals of matrices: ``[..., M, N]`` -> ``[..., min(M, N)]``.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.matrix_diag_part([[1, 2, 3], [4, 5, 6]]))
    array([1, 5], dtype=int32)
    """
    x = _matrix_input(input, "matrix_diag_part")
    m, n = (x.shape[-2].value, x.shape[-1].value) if x.shape.ndims is not None else (None, None)
    if m is None or n is None or m != n:  # the leading square block holds the diagonal
        k = min(m, n) if None not in (m, n) else minimum(shape_of(x)[-2], shape_of(x)[-1])
        x = x[..., :k, :k]
    return _einsum_op([[_ELL, "i", "i"]], [_ELL, "i"], [x], name or "MatrixDiagPart")


def matrix_set_diag(input, diagonal, name=None) -> Tensor:
    """``input`` with the main diagonals of its matrices replaced by ``diagonal`` (``[..., min(M, N)]``).

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.matrix_set_diag([[1, 2], [3, 4]], [7, 8]))
    array([[7, 2],
           [3, 8]], dtype=int32)
    """
    x = _matrix_input(input, "matrix_set_diag")
    d = convert_to_tensor(diagonal, dtype=x.dtype)
    m, n = (x.shape[-2].value, x.shape[-1].value) if x.shape.ndims is not None else (None, None)
    if None not in (m, n):  # rows (M <= N) or columns (M > N) of the diagonal broadcast over the mask
        values = expand_dims(d, -1) if m <= n else expand_dims(d, -2)
    else:  # the diagonal padded with zeros to M values, one per row
        after = reshape(stack([0, shape_of(x)[-2] - shape_of(d)[-1]]), [1, 2])
        values = expand_dims(pad(d, concat([zeros([rank(d) - 1, 2], dtypes.int32), after], 0)), -1)
    mask = eye(_dim(x, -2), _dim(x, -1), dtype=dtypes.bool_)
    return where_v2(mask, values, x, name=name or "MatrixSetDiag")


def diag(diagonal, name=None) -> Tensor:
    """The tensor of rank 2k with ``diagonal`` (rank k) on its diagonal: ``out[i, j, i, j] = diagonal[i, j]``.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.diag([1., 2.]))
    array([[1., 0.],
           [0., 2.]], dtype=float32)
    """
    with name_scope(name, "Diag", [diagonal]):
        v = convert_to_tensor(diagonal)
        if v.shape.ndims == 0:
            raise ValueError("diag: input must be at least rank 1, got a scalar")
        shape = v.shape.as_list() * 2 if v.shape.is_fully_defined() else concat([shape_of(v)] * 2, 0)
        return reshape(matrix_diag(reshape(v, [-1])), shape)


def diag_part(input, name=None) -> Tensor:
    """The diagonal of a tensor of rank 2k whose first k dims equal its last k: ``out[i] = input[i, i]``.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.diag_part([[1, 2], [3, 4]]))
    array([1, 4], dtype=int32)
    """
    with name_scope(name, "DiagPart", [input]):
        x = convert_to_tensor(input)
        r = x.shape.ndims
        if r is None:
            raise ValueError("diag_part needs an input of known rank")
        if r == 0 or r % 2:
            raise ValueError(f"diag_part: input must have even and non-zero rank, got shape {x.shape}")
        k = r // 2
        if not x.shape[:k].is_compatible_with(x.shape[k:]):
            raise ValueError(f"diag_part: the first half of the dims {x.shape[:k]} must equal the second "
                             f"{x.shape[k:]}")
        known = x.shape[:k].merge_with(x.shape[k:]).as_list()
        dims = [d if d is not None else _dim(x, i) for i, d in enumerate(known)]
        n = _prod_of_dims(x, range(k))
        return reshape(matrix_diag_part(reshape(x, [n, n])), dims)


def trace(x, name=None) -> Tensor:
    """The sum of the main diagonal of each matrix in the last two dims.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.trace([[1, 2], [3, 4]]))
    np.int32(5)
    """
    with name_scope(name, "Trace", [x]) as scope:
        return reduce_sum(matrix_diag_part(x), -1, name=scope)


def matrix_transpose(a, name="matrix_transpose", conjugate=False) -> Tensor:
    """Each matrix in the last two dims transposed: ``[..., M, N]`` -> ``[..., N, M]``.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.matrix_transpose([[1, 2, 3]]))
    array([[1],
           [2],
           [3]], dtype=int32)
    """
    x = _matrix_input(a, "matrix_transpose")
    if conjugate and x.dtype.is_complex:
        raise NotImplementedError("matrix_transpose(conjugate=True) of complex tensors is not supported yet")
    r = x.shape.ndims
    if r is None:
        return _einsum_op([[_ELL, "i", "j"]], [_ELL, "j", "i"], [x], name)
    return transpose(x, list(range(r - 2)) + [r - 1, r - 2], name=name)


def matrix_band_part(input, num_lower, num_upper, name=None) -> Tensor:
    """``input`` with everything outside a band around each matrix's diagonal zeroed: ``num_lower``
    subdiagonals and ``num_upper`` superdiagonals are kept (a negative count keeps that whole triangle).

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.Session().run(tf.matrix_band_part([[1, 2, 3], [4, 5, 6], [7, 8, 9]], 0, -1))
    array([[1, 2, 3],
           [0, 5, 6],
           [0, 0, 9]], dtype=int32)
    """
    with name_scope(name, "MatrixBandPart", [input, num_lower, num_upper]) as scope:
        x = _matrix_input(input, "matrix_band_part")
        m, n = _dim(x, -2), _dim(x, -1)
        lo, hi = (constant_value(v) if is_tensor_like(v) else v for v in (num_lower, num_upper))
        for v, what, limit in ((lo, "num_lower", m), (hi, "num_upper", n)):
            if v is not None and np.ndim(v):
                raise ValueError(f"{what} must be a scalar, got {v!r}")
            if v is not None and isinstance(limit, int) and int(v) > limit:
                raise ValueError(f"{what} must be negative or less or equal to {limit}, got {int(v)}")
        if isinstance(m, int) and isinstance(n, int) and lo is not None and hi is not None:
            d = np.arange(m)[:, None] - np.arange(n)  # known when the graph is built: a constant mask
            band = convert_to_tensor(((lo < 0) | (d <= lo)) & ((hi < 0) | (-d <= hi)))
        else:
            lo, hi = (cast(convert_to_tensor(v), dtypes.int32) for v in (num_lower, num_upper))
            d = expand_dims(_index_range(m), 1) - _index_range(n)
            band = logical_and(logical_or(less(lo, 0), less_equal(d, lo)),
                               logical_or(less(hi, 0), greater_equal(hi, -d)))
        return where_v2(band, x, _zero(x.dtype), name=scope)
