"""The OpenCL kernel of each op: ``KERNELS[op_type] = factory(dev, op) -> callable | None``.

A factory runs once per plan (binding): it reads the op's static attrs and dtypes and returns the
callable a run invokes with the op's input values (device arrays; host arrays for constants and
host-memory values; slots for ref inputs), or None when this op instance cannot run here (a dtype
without a C expression): placement then moves it to the CPU (soft placement) or raises.

Families: elementwise (one template, ``backends/cexpr.py``), reductions and matmul (``vocab.py``),
movement, convolution and pooling (``movement.py``: index maps), cross-entropies, variables and
optimizer updates (new arrays each step: values handed out by earlier runs are never overwritten),
random numbers (drawn on the host from the op's own generator, so a device replays the CPU's stream
exactly, then copied to the device).
"""

from __future__ import annotations

import functools
import math

import numpy as np

from backends import cexpr
from dataflow.framework import errors
from dataflow.framework.registry import OP_DEFS

from . import elementwise as ew
from . import movement as mv
from . import vocab

KERNELS: dict = {}


def kernel(*types):
    def deco(factory):
        for t in types:
            KERNELS[t] = factory
        return factory
    return deco


def _np(dt):
    return dt.as_numpy_dtype if hasattr(dt, "as_numpy_dtype") else np.dtype(dt)


def _host(x):
    return x.get() if hasattr(x, "get") and not isinstance(x, np.ndarray) else np.asarray(x)


# ---- elementwise ------------------------------------------------------------------------------
def _elementwise(dev, op, state=None):
    in_dts = [_np(t.dtype) for t in op.inputs]
    expr = cexpr.expression(op.type, in_dts, len(op.inputs))
    if op.type == "Cast":
        dst = _np(op.attrs["DstT"])
        expr = "({0} != 0)" if np.dtype(dst) == bool else expr
    if expr is None or any(np.dtype(d).kind not in "biuf" for d in in_dts):
        return None
    outs = [_np(t.dtype) for t in op.outputs]
    from .runtime import ctype

    text = expr.format(*[f"in{k}" for k in range(len(op.inputs))], T=ctype(outs[0]))
    dtype = outs[0]
    int_division = op.type in _INT_DIVISIONS and np.dtype(in_dts[1]).kind in "iu"

    def run(*xs):
        xs = [x if isinstance(x, (np.ndarray, np.generic, int, float)) and np.ndim(x) == 0 else dev.operand(x)
              for x in xs]  # host scalars are passed by value
        if int_division:
            _check_divisor(dev, xs[1])
        if op.type == "Select" and np.ndim(xs[0]) == 1 and np.ndim(xs[1]) > 1:  # TF1: a vector picks rows
            xs[0] = xs[0].reshape((-1,) + (1,) * (np.ndim(xs[1]) - 1))
        shape = np.broadcast_shapes(*[tuple(np.shape(x)) for x in xs])
        return ew.run(dev, [], [(text, dtype, None)], xs, shape)[0]
    return run


_INT_DIVISIONS = ("FloorDiv", "FloorMod", "TruncateDiv", "TruncateMod")


def _check_divisor(dev, y):
    """TF's InvalidArgumentError for an integer division by zero (C's would be undefined): one device
    reduction, one boolean read back."""
    if isinstance(y, (np.ndarray, np.generic, int, float)):
        zero = not np.all(y)
    else:
        is_zero, = ew.run(dev, [], [("in0 == 0", bool, None)], [y], y.shape)
        zero = y.size > 0 and bool(vocab.reduce(dev, is_zero, None, "any").get())
    if zero:
        raise errors.InvalidArgumentError(None, None, "Integer division by zero")


for _t in set(cexpr.EXPR) | set(cexpr.FLOAT_EXPR) | {"AddN"}:
    if _t in OP_DEFS and _t not in ("Identity", "StopGradient"):
        KERNELS[_t] = _elementwise


def fused(dev, program, outputs, in_dtypes, out_dtypes):
    """One kernel evaluating a FusedElementwise ``program`` (``backends/cexpr.program_expression``):
    a callable from the input values to the list of output arrays. KeyError: a step has no C expression."""
    from .runtime import ctype

    lines, outs = cexpr.program_expression(program, outputs, in_dtypes, out_dtypes, ctype, lambda i: f"in{i}")

    def run(*xs):
        xs = [x if isinstance(x, (np.ndarray, np.generic, int, float)) and np.ndim(x) == 0 else dev.operand(x)
              for x in xs]
        shape = np.broadcast_shapes(*[tuple(np.shape(x)) for x in xs])
        return ew.run(dev, lines, [(o, dt, None) for o, dt in zip(outs, out_dtypes)], xs, shape)
    return run


@kernel("FusedElementwise")
def _fused_op(dev, op, state=None):
    """The rewrite pass's fused op (branch ``rewrite``): attrs ``program`` and ``outputs``."""
    try:
        run = fused(dev, op.attrs["program"], op.attrs["outputs"], [_np(t.dtype) for t in op.inputs],
                    [_np(t.dtype) for t in op.outputs])
    except KeyError:
        return None
    return run if len(op.outputs) > 1 else lambda *xs: run(*xs)[0]


@kernel("Identity", "StopGradient", "PlaceholderWithDefault")
def _identity(dev, op, state=None):
    return lambda x: dev.operand(x)


@kernel("IdentityN")
def _identity_n(dev, op, state=None):
    return lambda *xs: [dev.operand(x) for x in xs]


# ---- reductions -------------------------------------------------------------------------------
_KIND = {"Sum": "sum", "Max": "max", "Min": "min", "Prod": "prod", "All": "all", "Any": "any", "Mean": "sum"}


@kernel(*_KIND)
def _reduction(dev, op, state=None):
    axis, keep = op.attrs["axis"], op.attrs["keepdims"]
    out_dt = _np(op.outputs[0].dtype)
    if np.dtype(out_dt).kind not in "biuf":
        return None

    return lambda x: _reduce(dev, dev.operand(x), op.type, axis, keep, out_dt)


def _reduce(dev, x, op_type, axis, keep, out_dt):
    s = vocab.reduce(dev, x, axis, _KIND[op_type], out_dt, keep)
    if op_type == "Mean":
        count = max(x.size // max(s.size, 1), 1) if x.size else 0
        s = ew.run(dev, [], [("in0 / in1", out_dt, None)], [s, np.asarray(count, out_dt)], s.shape)[0]
    return s


@kernel("ReduceAxes")
def _reduce_axes(dev, op, state=None):
    """A reduction over axes computed at run time (a host value, as TF keeps it in host memory)."""
    from dataflow.ops.reduction import _computed_axes

    fn, keep, out_dt = op.attrs["fn"], op.attrs["keepdims"], _np(op.outputs[0].dtype)
    if fn not in _KIND or np.dtype(out_dt).kind not in "biuf":
        return None

    def run(x, axis):
        x = dev.operand(x)
        return _reduce(dev, x, fn, _computed_axes(np, np.empty(x.shape, np.int8), _host(axis)), keep, out_dt)
    return run


@kernel("ArgMax", "ArgMin")
def _argmax(dev, op, state=None):
    kind, axis, out_dt = op.type.lower(), op.attrs["axis"], _np(op.attrs["output_type"])
    return lambda x: vocab.reduce(dev, dev.operand(x), (axis,), kind, out_dt)


@kernel("ReduceGrad")
def _reduce_grad(dev, op, state=None):
    axis, keep, mean = op.attrs["axis"], op.attrs["keepdims"], op.attrs["mean"]
    dt = _np(op.outputs[0].dtype)

    def run(g, shape):
        dims = tuple(int(d) for d in _host(shape))
        kept = tuple(1 if i in axis else d for i, d in enumerate(dims))
        g = dev.operand(g).reshape(kept)
        n = math.prod(dims[a] for a in axis) if mean else 1
        return ew.run(dev, [], [("in0 / in1", dt, None)], [g, np.asarray(max(n, 1), dt)], dims)[0]
    return run


@kernel("SumToShape")
def _sum_to_shape(dev, op, state=None):
    def run(g, shape):
        g = dev.operand(g)
        dims = tuple(int(d) for d in _host(shape))
        if tuple(g.shape) == dims:
            return g
        lead = len(g.shape) - len(dims)
        axes = tuple(range(lead)) + tuple(lead + k for k, d in enumerate(dims) if d == 1 and g.shape[lead + k] != 1)
        return vocab.reduce(dev, g, axes, "sum").reshape(dims)
    return run


# ---- linear algebra ---------------------------------------------------------------------------
@kernel("MatMul", "BatchMatMulV2")
def _matmul(dev, op, state=None):
    if np.dtype(_np(op.outputs[0].dtype)).kind != "f":
        return None
    ta = op.attrs.get("transpose_a", op.attrs.get("adj_x", False))
    tb = op.attrs.get("transpose_b", op.attrs.get("adj_y", False))
    return lambda a, b: vocab.matmul(dev, dev.operand(a), dev.operand(b), ta, tb)


# ---- shapes and movement ----------------------------------------------------------------------
def _reshape_to(x, dims):
    dims = [int(d) for d in dims]
    if -1 in dims:
        known = math.prod(d for d in dims if d != -1)
        dims[dims.index(-1)] = x.size // known if known else 0
    if x.size != math.prod(dims):
        raise errors.InvalidArgumentError(None, None, f"Input to reshape is a tensor with {x.size} values, "
                                          f"but the requested shape has {math.prod(dims)}")
    return x.reshape(tuple(dims))


@kernel("Reshape")
def _reshape(dev, op, state=None):
    return lambda x, shape: _reshape_to(dev.operand(x), _host(shape))


@kernel("ExpandDims", "Squeeze")
def _expand_squeeze(dev, op, state=None):
    ref = functools.partial(OP_DEFS[op.type].kernel, np, **{k: op.attrs[k] for k in OP_DEFS[op.type].kernel_attrs})

    def run(x):
        x = dev.operand(x)
        return x.reshape(ref(np.empty(x.shape, np.int8)).shape)
    return run


@kernel("Shape", "Size", "Rank")
def _shape(dev, op, state=None):  # host values whatever the device (TF's host-memory convention)
    dt = _np(op.outputs[0].dtype)
    if op.type == "Shape":
        return lambda x: np.asarray(np.shape(x), dt)
    if op.type == "Size":
        return lambda x: np.asarray(math.prod(np.shape(x)), dt)
    return lambda x: np.asarray(len(np.shape(x)), np.int32)


@kernel("ZerosLike", "OnesLike")
def _zeros_like(dev, op, state=None):
    value = 0 if op.type == "ZerosLike" else 1
    dt = _np(op.outputs[0].dtype)
    return lambda x: vocab.fill(dev, np.shape(x), dt, value)


@kernel("Fill")
def _fill(dev, op, state=None):
    dt = _np(op.outputs[0].dtype)

    def run(dims, value):
        v = dev.operand(value)
        return ew.run(dev, [], [("in0", dt, None)], [v], tuple(int(d) for d in _host(dims)))[0]
    return run


# the data inputs of each index-map op (the others are host values: begin, paddings, axis ...)
_MAPPED = {"Transpose": 1, "Slice": 1, "StridedSlice": 1, "ReverseV2": 1, "Tile": 1, "Pad": 1, "PadV2": 1,
           "MirrorPad": 1, "Split": 1, "SplitV": 1, "Unpack": 1, "BroadcastTo": 1, "Pack": None,
           "ConcatV2": None,
           # their maps depend on index VALUES (read on the host, as the segment ids: backends/opencl/segments.py)
           "GatherNd": 1, "ReverseSequence": 1}


@kernel(*_MAPPED)
def _mapped(dev, op, state=None):
    opdef = OP_DEFS[op.type]
    attrs = {k: op.attrs[k] for k in opdef.kernel_attrs if k in op.attrs}
    if op.type == "Split":  # its axis is an attr and its value the only input
        attrs = {k: op.attrs[k] for k in ("num_split", "axis") if k in op.attrs}
    host_kernel = functools.partial(opdef.kernel, **attrs)
    n_data = _MAPPED[op.type] or len(op.inputs)  # Pack and ConcatV2 (its axis is an attr): all inputs
    dt = _np(op.outputs[0].dtype)
    cache = mv.MapCache(64)

    def run(*args):
        data = [dev.operand(x) for x in args[:n_data]]
        params = [_host(p) for p in args[n_data:]]
        fill = 0
        if op.type == "PadV2":
            fill, params = params[-1], params[:-1] + [np.zeros((), np.int64)]
        key = (tuple(tuple(x.shape) for x in data), tuple((p.dtype.str, p.shape, p.tobytes()) for p in params))

        def make():
            maps = mv.host_maps(host_kernel, [x.shape for x in data], params, n_data)
            return [(mv.upload_map(dev, m), m.shape) for m in maps]
        maps = cache.get(key, make)
        outs = [mv.gather(dev, data, m, shape, fill) for m, shape in maps]
        return outs if len(op.outputs) > 1 else outs[0]
    if np.dtype(dt).kind not in "biuf":
        return None
    return run


@kernel("GatherV2")
def _gather(dev, op, state=None):
    axis = op.attrs.get("axis", 0)
    if not isinstance(axis, (int, np.integer)):
        return None

    def run(params, indices):
        p, idx = dev.operand(params), dev.operand(indices)
        ax = axis % max(p.ndim, 1)
        outer, n, inner = math.prod(p.shape[:ax]), p.shape[ax], math.prod(p.shape[ax + 1:])
        shape = tuple(p.shape[:ax]) + tuple(idx.shape) + tuple(p.shape[ax + 1:])
        from .runtime import ctype
        src = (f"__kernel void g(__global {ctype(p.dtype)} *out, __global const {ctype(p.dtype)} *p, "
               f"__global const {ctype(idx.dtype)} *ix, const long m, const long n, const long inner,"
               f" const long total) {{\n"
               f"  const long i = get_global_id(0); if (i < total) {{\n"
               f"    const long j = i % inner, r = i / inner, q = r % m, o = r / m; const long k = ix[q];\n"
               f"    out[i] = (k >= 0 && k < n) ? p[(o * n + k) * inner + j] : 0; }} }}\n")
        out = dev.empty(shape, p.dtype)
        if out.size:
            dev.launch(dev.kernel(src, "g"), out.size, out.data, p.data, idx.data, np.int64(idx.size),
                       np.int64(n), np.int64(inner), np.int64(out.size))
        return out
    return run


# ---- convolution and pooling (NHWC, im2col + GEMM) --------------------------------------------
def _conv_ok(op):
    return op.attrs.get("data_format", "NHWC") in ("NHWC", b"NHWC") and op.attrs.get("padding") in ("SAME", "VALID")


def conv_kernel(*types):
    """Register ``make(dev, op, cache) -> run`` for NHWC SAME/VALID convolutions (``cache``: its maps)."""
    def deco(make):
        def factory(dev, op, state=None):
            return make(dev, op, mv.MapCache(16)) if _conv_ok(op) else None
        return kernel(*types)(factory)
    return deco


def _patches(dev, cache, x, kh, kw, op, want_inverse=False):
    strides, dil = op.attrs["strides"], op.attrs.get("dilations", (1, 1, 1, 1))
    key = (tuple(x.shape), kh, kw, want_inverse)

    def make():
        m, out_shape = mv.patch_map(tuple(x.shape), kh, kw, strides, dil, op.attrs["padding"])
        inv = mv.inverse(dev, m, x.size) if want_inverse else None
        return mv.upload_map(dev, m), m.shape, out_shape, inv
    return cache.get(key, make)


def _im2col(dev, cache, x, kh, kw, op):
    """The patch matrix ``[N*Ho*Wo, kh*kw*C]`` of ``x`` (one gather) and the output's (N, Ho, Wo)."""
    m, _, (n, ho, wo, c), _ = _patches(dev, cache, x, kh, kw, op)
    return mv.gather(dev, [x], m, (n * ho * wo, kh * kw * c)), (n, ho, wo)


@conv_kernel("Conv2D")
def _conv2d(dev, op, cache):
    def run(x, f):
        x, f = dev.operand(x), dev.operand(f)
        kh, kw, c, o = f.shape
        cols, out = _im2col(dev, cache, x, kh, kw, op)
        return vocab.matmul(dev, cols, f.reshape(kh * kw * c, o)).reshape(*out, o)
    return run


@conv_kernel("Conv2DBackpropFilter")
def _conv2d_filter(dev, op, cache):
    def run(x, sizes, dy):
        x, dy = dev.operand(x), dev.operand(dy)
        kh, kw, c, o = (int(d) for d in _host(sizes))
        cols, (n, ho, wo) = _im2col(dev, cache, x, kh, kw, op)
        return vocab.matmul(dev, cols, dy.reshape(n * ho * wo, o), transpose_a=True).reshape(kh, kw, c, o)
    return run


@conv_kernel("Conv2DBackpropInput")
def _conv2d_input(dev, op, cache):
    def run(sizes, f, dy):
        f, dy = dev.operand(f), dev.operand(dy)
        shape = tuple(int(d) for d in _host(sizes))
        kh, kw, c, o = f.shape
        probe = np.empty(shape, np.int8)  # the patch map needs only the shape
        _, _, (n, ho, wo, _), (order, starts) = _patches(dev, cache, probe, kh, kw, op, want_inverse=True)
        cols = vocab.matmul(dev, dy.reshape(n * ho * wo, o), f.reshape(kh * kw * c, o), transpose_b=True)
        return mv.gather_sum(dev, cols, order, starts, shape)
    return run


def _pool_window(op):
    _, kh, kw, _ = op.attrs["ksize"]
    return kh, kw


def _pool_map(dev, cache, shape, op, want_inverse=False):
    kh, kw = _pool_window(op)
    key = (tuple(shape), want_inverse)

    def make():
        m, out_shape = mv.patch_map(tuple(shape), kh, kw, op.attrs["strides"], (1, 1, 1, 1), op.attrs["padding"])
        m = np.ascontiguousarray(m.transpose(0, 1, 2, 5, 3, 4))  # [N, Ho, Wo, C, kh, kw]: windows last
        inv = mv.inverse(dev, m, int(np.prod(shape))) if want_inverse else None
        count = (m.reshape(-1, kh * kw) > 0).sum(1).astype(np.float64)
        return mv.upload_map(dev, m), out_shape, inv, count
    return cache.get(key, make)


@kernel("MaxPool", "AvgPool")
def _pool(dev, op, state=None):
    if not _conv_ok(op):
        return None
    cache, kh, kw = mv.MapCache(16), *_pool_window(op)
    dcounts = {}

    def run(x):
        x = dev.operand(x)
        m, out_shape, _, count = _pool_map(dev, cache, x.shape, op)
        if op.type == "MaxPool":
            win = mv.gather(dev, [x], m, (x.size and m.size // (kh * kw), kh * kw), fill=-np.inf)
            return vocab.reduce(dev, win, (1,), "max").reshape(out_shape)
        win = mv.gather(dev, [x], m, (m.size // (kh * kw), kh * kw), fill=0)
        s = vocab.reduce(dev, win, (1,), "sum")
        key = (out_shape, x.dtype.str)
        if key not in dcounts:
            dcounts[key] = dev.from_host(count.astype(x.dtype))
        return ew.run(dev, [], [("in0 / in1", x.dtype, None)], [s, dcounts[key]], s.shape)[0].reshape(out_shape)
    return run


@kernel("MaxPoolGrad")
def _max_pool_grad(dev, op, state=None):
    if not _conv_ok(op):
        return None
    cache, kh, kw = mv.MapCache(16), *_pool_window(op)

    def run(x, y, g):
        x, g = dev.operand(x), dev.operand(g)
        m, out_shape, (order, starts), _ = _pool_map(dev, cache, x.shape, op, want_inverse=True)
        win = mv.gather(dev, [x], m, (m.size // (kh * kw), kh * kw), fill=-np.inf)
        arg = vocab.reduce(dev, win, (1,), "argmax", np.int64)  # the first maximum, as TF's CPU kernel
        return mv.gather_sum(dev, g, order, starts, x.shape, argmax=arg, k=kh * kw)
    return run


@kernel("MaxPoolGradGrad")
def _max_pool_grad_grad(dev, op, state=None):
    """``gg`` gathered at each window's (first) maximum: the transpose of MaxPoolGrad's routing."""
    if not _conv_ok(op):
        return None
    cache, kh, kw = mv.MapCache(16), *_pool_window(op)

    def run(x, y, gg):
        from .runtime import ctype

        x, gg = dev.operand(x), dev.operand(gg)
        m, out_shape, _, _ = _pool_map(dev, cache, x.shape, op)
        win = mv.gather(dev, [x], m, (m.size // (kh * kw), kh * kw), fill=-np.inf)
        arg = vocab.reduce(dev, win, (1,), "argmax", np.int64)
        out = dev.empty(out_shape, gg.dtype)
        t = ctype(gg.dtype)
        src = (f"__kernel void pick(__global {t} *out, __global const {t} *g, __global const {ctype(m.dtype)} *map,"
               f" __global const long *arg, const long k, const long n) {{\n"
               f"  const long w = get_global_id(0); if (w < n) {{ const long j = map[w * k + arg[w]];"
               f" out[w] = j > 0 ? g[j - 1] : ({t})0; }}\n}}\n")
        if out.size:
            dev.launch(dev.kernel(src, "pick"), out.size, out.data, gg.data, m.data, arg.data, np.int64(kh * kw),
                       np.int64(out.size))
        return out
    return run


@kernel("AvgPoolGrad")
def _avg_pool_grad(dev, op, state=None):
    if not _conv_ok(op):
        return None
    cache, kh, kw = mv.MapCache(16), *_pool_window(op)

    def run(in_shape, g):
        g = dev.operand(g)
        shape = tuple(int(d) for d in _host(in_shape))
        m, out_shape, (order, starts), count = _pool_map(dev, cache, shape, op, want_inverse=True)
        per = ew.run(dev, [], [("in0 / in1", g.dtype, None)], [g.reshape(-1), dev.from_host(count.astype(g.dtype))],
                     (g.size,))[0]
        return _window_sum(dev, per, order, starts, shape, kh * kw)
    return run


def _window_sum(dev, per_window, order, starts, shape, k):
    """Sum over windows of a value per window (positions p of window p // k)."""
    spread = ew.run(dev, [], [("in0", per_window.dtype, None)],
                    [(per_window, (1, 0), 0)], (per_window.size, k))[0]  # each window's value at its k positions
    return mv.gather_sum(dev, spread, order, starts, shape)


# ---- cross-entropies --------------------------------------------------------------------------
def _xent(dev, x, labels):
    """TF's fused softmax cross-entropy on rank-2 logits: (loss [N], backprop [N, C])."""
    dt = x.dtype
    n, c = x.shape
    m = vocab.reduce(dev, x, (1,), "max", keepdims=True)
    e, = ew.run(dev, [], [("exp(in0 - in1)", dt, None)], [x, m], x.shape)
    s = vocab.reduce(dev, e, (1,), "sum", keepdims=True)
    back, per = ew.run(dev, [], [("in1 / in2 - in3", dt, None), ("in3 * (log(in2) - (in0 - in4))", dt, None)],
                       [x, e, s, labels, m], x.shape)
    return vocab.reduce(dev, per, (1,), "sum"), back


@kernel("SoftmaxCrossEntropyWithLogits")
def _softmax_xent(dev, op, state=None):
    if op.inputs[0].shape.ndims != 2:
        return None
    return lambda x, labels: _xent(dev, dev.operand(x), dev.operand(labels))


@kernel("SparseSoftmaxCrossEntropyWithLogits")
def _sparse_xent(dev, op, state=None):
    def run(x, labels):
        x, labels = dev.operand(x), dev.operand(labels)
        c = x.shape[1]
        cols = dev.operand(np.arange(c, dtype=labels.dtype).reshape(1, c))
        onehot, = ew.run(dev, [], [("in0 == in1", x.dtype, None)], [labels.reshape(-1, 1), cols], x.shape)
        return _xent(dev, x, onehot)
    return run


@kernel("CheckNumerics")
def _check_numerics(dev, op, state=None):
    ref = functools.partial(OP_DEFS["CheckNumerics"].kernel, np, message=op.attrs["message"])

    def run(x):
        x = dev.operand(x)
        bad, = ew.run(dev, [], [("!isfinite(in0)", bool, None)], [x], x.shape)
        if x.size and bool(vocab.reduce(dev, bad, None, "any").get()):
            ref(x.get())  # raises TF's message (NaN, Inf or both)
        return x
    return run if np.dtype(_np(op.inputs[0].dtype)).kind == "f" else None


@kernel("CheckLabelRange")
def _check_labels(dev, op, state=None):
    def run(labels, logits):
        labels = dev.operand(labels)
        c = np.shape(logits)[-1]
        bad, = ew.run(dev, [], [("in0 < 0 || in0 >= in1", bool, None)], [labels, np.asarray(c, labels.dtype)],
                      labels.shape)
        if labels.size and bool(vocab.reduce(dev, bad, None, "any").get()):
            from dataflow.ops.nn_ops import check_label_range
            check_label_range(np, labels.get(), c)  # raises TF's message
        return labels
    return run


# ---- variables and optimizer updates ------------------------------------------------------------
@kernel("VariableV2")
def _variable(dev, op, state=None):
    if state is None:  # asked only whether a kernel exists
        return lambda: None
    slot = OP_DEFS["VariableV2"].bind(op, state)["ref"]
    return lambda: slot


@kernel("Assign")
def _assign(dev, op, state=None):
    validate = op.attrs.get("validate_shape", True)
    return lambda ref, value: ref.assign(dev.operand(value, copy=True), validate)


@kernel("AssignAdd", "AssignSub")
def _assign_add(dev, op, state=None):
    text = "in0 + in1" if op.type == "AssignAdd" else "in0 - in1"

    def run(ref, value):
        old = ref.read()
        return ref.assign(ew.run(dev, [], [(text, old.dtype, None)], [old, dev.operand(value)], old.shape)[0])
    return run


@kernel("IsVariableInitialized")
def _is_initialized(dev, op, state=None):
    return lambda ref: np.asarray(ref.is_initialized())


# TF's formulas (training_ops.cc); in0 = var, then the slots, then the other inputs in TF's order.
# Each is one kernel pass writing the variable and its slots as new arrays.
_UPDATES = {
    "ApplyGradientDescent": (["var"], ["var = var - alpha * delta;"]),
    "ApplyMomentum": (["var", "accum"], [
        "accum = accum * momentum + grad;",
        "var = NESTEROV ? var - (grad * lr + accum * momentum * lr) : var - lr * accum;"]),
    "ApplyAdam": (["var", "m", "v"], [
        "const T lr_t = lr * sqrt((T)1 - beta2_power) / ((T)1 - beta1_power);",
        "m = m + (grad - m) * ((T)1 - beta1);",
        "v = v + (grad * grad - v) * ((T)1 - beta2);",
        "var = NESTEROV ? var - (m * beta1 + ((T)1 - beta1) * grad) * lr_t / (sqrt(v) + epsilon)"
        " : var - (m * lr_t) / (sqrt(v) + epsilon);"]),
    "ApplyAdagrad": (["var", "accum"], ["accum = accum + grad * grad;", "var = var - lr * grad / sqrt(accum);"]),
    "ApplyRMSProp": (["var", "ms", "mom"], [
        "ms = ms + (grad * grad - ms) * ((T)1 - rho);",
        "mom = mom * momentum + lr * grad / sqrt(ms + epsilon);", "var = var - mom;"]),
    "ApplyCenteredRMSProp": (["var", "mg", "ms", "mom"], [
        "ms = ms + (grad * grad - ms) * ((T)1 - rho);", "mg = mg + (grad - mg) * ((T)1 - rho);",
        "mom = mom * momentum + grad / sqrt(ms - mg * mg + epsilon) * lr;", "var = var - mom;"]),
    "ApplyAdadelta": (["var", "accum", "accum_update"], [
        "accum = accum * rho + grad * grad * ((T)1 - rho);",
        "const T update = sqrt(accum_update + epsilon) / sqrt(accum + epsilon) * grad;",
        "accum_update = accum_update * rho + update * update * ((T)1 - rho);", "var = var - update * lr;"]),
    "ApplyAdagradDA": (["var", "gradient_accumulator", "gradient_squared_accumulator"], [
        "gradient_accumulator = gradient_accumulator + grad;",
        "gradient_squared_accumulator = gradient_squared_accumulator + grad * grad;",
        "const T g = gradient_accumulator, excess = fabs(g) - global_step * l1;",
        "const T num = l1 > 0 ? (excess > 0 ? excess : (T)0) * (T)((g > 0) - (g < 0)) * -lr : g * -lr;",
        "var = num / (sqrt(gradient_squared_accumulator) + l2 * (global_step * lr));"]),
    # lr_power == -0.5 (the default) takes square roots rather than powers, as TF does
    "ApplyFtrl": (["var", "accum", "linear"], [
        "const T p_old = lr_power == (T)-0.5 ? sqrt(accum) : pow(accum, -lr_power);",
        "accum = accum + grad * grad;",
        "const T p_new = lr_power == (T)-0.5 ? sqrt(accum) : pow(accum, -lr_power);",
        "linear = linear + ((p_old - p_new) / lr * var SHRINK + grad);",
        "var = fabs(linear) > l1 ? ((T)((linear > 0) - (linear < 0)) * l1 - linear) / (p_new / lr + (T)2 * l2)"
        " : (T)0;"]),
}
_UPDATES["ApplyFtrlV2"] = (_UPDATES["ApplyFtrl"][0], [line.replace("SHRINK", "+ var * ((T)2 * l2_shrinkage)")
                                                      for line in _UPDATES["ApplyFtrl"][1]])
_UPDATES["ApplyFtrl"] = (_UPDATES["ApplyFtrl"][0], [line.replace("SHRINK", "") for line in _UPDATES["ApplyFtrl"][1]])


def update_code(lines, t: str, op) -> str:
    """C statements of an update row for the C type ``t`` and the op's ``use_nesterov``."""
    code = "\n".join(lines).replace("(T)", f"({t})").replace("const T ", f"const {t} ")
    return code.replace("NESTEROV", "1" if op.attrs.get("use_nesterov", False) else "0")


@kernel(*_UPDATES)
def _apply(dev, op, state=None):
    from dataflow.ops.training import SIGNATURES
    from .runtime import ctype

    names = SIGNATURES[op.type]
    outs, body = _UPDATES[op.type]
    dt = _np(op.outputs[0].dtype)
    if np.dtype(dt).kind != "f" or op.attrs.get("update_slots", True) is False:
        return None
    t = ctype(dt)
    decl = [f"{t} {name} = in{k};" for k, name in enumerate(names)]
    code = update_code(decl + body, t, op)
    n_refs = len(outs)

    def run(*args):
        slots, rest = args[:n_refs], [dev.operand(a) for a in args[n_refs:]]
        values = [s.read() for s in slots]
        new = ew.run(dev, [code], [(name, dt, None) for name in outs], values + rest, values[0].shape)
        for s, v in zip(slots, new):
            s.value = v
        return new[0]
    return run


# ---- random numbers: drawn on the host from the op's generator (the CPU's stream), then copied ----
# The candidate samplers draw as the random ops; ComputeAccidentalHits compares class ids (indices only:
# its inputs are read back, its outputs, a data-dependent number of hits, copied to the device).
@kernel("RandomUniform", "RandomStandardNormal", "TruncatedNormal", "RandomUniformInt", "RandomShuffle",
        "UniformCandidateSampler", "LogUniformCandidateSampler", "ComputeAccidentalHits")
def _random(dev, op, state=None):
    opdef = OP_DEFS[op.type]
    kwargs = {k: op.attrs[k] for k in opdef.kernel_attrs if k in op.attrs}
    kwargs.update(opdef.bind(op, state) if opdef.bind and state is not None else {})
    host = functools.partial(opdef.kernel, np, **kwargs)

    def run(*xs):
        out = host(*[_host(x) for x in xs])
        return [dev.from_host(o) for o in out] if isinstance(out, (list, tuple)) else dev.from_host(out)
    return run


from . import segments  # noqa: E402,F401  (registers the segment, one-hot, range and scan kernels)
from . import rows  # noqa: E402,F401  (registers the sparse variable updates)
from . import adjoints  # noqa: E402,F401  (registers the adjoints of index maps)
from . import selection  # noqa: E402,F401  (registers TopKV2, Where, InvertPermutation)
from . import depthwise  # noqa: E402,F401  (registers the depthwise convolutions)
from . import einsum  # noqa: E402,F401  (registers Einsum)
from . import sampling  # noqa: E402,F401  (registers Multinomial)
from . import sorting  # noqa: E402,F401  (registers Unique)
from . import linalg  # noqa: E402,F401  (registers Cholesky, MatrixInverse, MatrixDeterminant, Qr, Svd)
from . import control  # noqa: E402,F401  (registers While/If, their gradients and the TensorArray ops)
