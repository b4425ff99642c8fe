"""Convolution, pooling and lrn rows, against direct loop-based NumPy references written here.

The references loop over output positions and kernel taps (small shapes only): they share nothing
with the im2col / row-GEMM kernels they check. Shapes cover both conv strategies (``kw * C`` below
``ROW_GEMM_MIN_DEPTH``: one im2col GEMM; above: a GEMM per kernel row), odd sizes (asymmetric SAME padding), strides,
dilations, explicit padding, NCHW and unknown static shapes. Rows whose build takes gradients check
second order (the gradients of Conv2DBackpropInput/Filter, MaxPoolGrad, AvgPoolGrad).
"""

import numpy as np

import dataflow as tf
from opspec import OpSpec, distinct_inputs, normal_inputs


# ---- references (NHWC, HWIO filters) ----------------------------------------------------------
def _geometry(n, k, s, d, padding):
    """(output size, pad before) along one axis, TF's SAME/VALID arithmetic or explicit (before, after)."""
    keff = (k - 1) * d + 1
    if padding == "VALID":
        return (n - keff) // s + 1, 0
    if padding == "SAME":
        out = (n + s - 1) // s
        return out, max((out - 1) * s + keff - n, 0) // 2
    before, after = padding
    return (n + before + after - keff) // s + 1, before


def _axes(x_hw, k_hw, s, d, padding):
    per_axis = (padding, padding) if isinstance(padding, str) else padding
    return [_geometry(x_hw[a], k_hw[a], s[a], d[a], per_axis[a]) for a in (0, 1)]


def _taps(x_hw, k_hw, s, d, padding):
    """(oh, ow, i, j, r, q): output (oh, ow) reads input (r, q) through tap (i, j); padding skipped."""
    (oh_n, pt), (ow_n, pl) = _axes(x_hw, k_hw, s, d, padding)
    for oh in range(oh_n):
        for ow in range(ow_n):
            for i in range(k_hw[0]):
                for j in range(k_hw[1]):
                    r, q = oh * s[0] + i * d[0] - pt, ow * s[1] + j * d[1] - pl
                    if 0 <= r < x_hw[0] and 0 <= q < x_hw[1]:
                        yield oh, ow, i, j, r, q


def _out_hw(x_hw, k_hw, s, d, padding):
    (oh, _), (ow, _) = _axes(x_hw, k_hw, s, d, padding)
    return oh, ow


def ref_conv(x, w, s=(1, 1), padding="SAME", d=(1, 1)):
    oh, ow = _out_hw(x.shape[1:3], w.shape[:2], s, d, padding)
    out = np.zeros((x.shape[0], oh, ow, w.shape[3]))
    for o1, o2, i, j, r, q in _taps(x.shape[1:3], w.shape[:2], s, d, padding):
        out[:, o1, o2] += x[:, r, q].astype(np.float64) @ w[i, j]
    return out


def ref_conv_backprop_input(in_shape, w, dy, s=(1, 1), padding="SAME", d=(1, 1)):
    dx = np.zeros(in_shape)
    for o1, o2, i, j, r, q in _taps(in_shape[1:3], w.shape[:2], s, d, padding):
        dx[:, r, q] += dy[:, o1, o2].astype(np.float64) @ w[i, j].T
    return dx


def ref_conv_backprop_filter(x, w_shape, dy, s=(1, 1), padding="SAME", d=(1, 1)):
    dw = np.zeros(w_shape)
    for o1, o2, i, j, r, q in _taps(x.shape[1:3], w_shape[:2], s, d, padding):
        dw[i, j] += x[:, r, q].astype(np.float64).T @ dy[:, o1, o2]
    return dw


def ref_depthwise(x, w, s=(1, 1), padding="SAME", d=(1, 1)):
    oh, ow = _out_hw(x.shape[1:3], w.shape[:2], s, d, padding)
    n, c, m = x.shape[0], x.shape[3], w.shape[3]
    out = np.zeros((n, oh, ow, c, m))
    for o1, o2, i, j, r, q in _taps(x.shape[1:3], w.shape[:2], s, d, padding):
        out[:, o1, o2] += x[:, r, q, :, None].astype(np.float64) * w[i, j]
    return out.reshape(n, oh, ow, c * m)


def _ref_pool(reduce):
    def ref(x, k, s, padding):
        oh, ow = _out_hw(x.shape[1:3], k, s, (1, 1), padding)
        windows = {}
        for o1, o2, _, _, r, q in _taps(x.shape[1:3], k, s, (1, 1), padding):
            windows.setdefault((o1, o2), []).append(x[:, r, q])
        out = np.zeros((x.shape[0], oh, ow, x.shape[3]))
        for (o1, o2), vals in windows.items():
            out[:, o1, o2] = reduce(np.stack(vals), axis=0)
        return out

    return ref


ref_max_pool, ref_avg_pool = _ref_pool(np.max), _ref_pool(np.mean)


def ref_max_pool_grad(x, g, k, s, padding):
    """Route ``g`` as TF does: each output's gradient to the first maximum in row-major window order."""
    best = np.full(g.shape, -np.inf)
    where = {}
    for o1, o2, _, _, r, q in _taps(x.shape[1:3], k, s, (1, 1), padding):
        for n in range(x.shape[0]):
            for c in range(x.shape[3]):
                if x[n, r, q, c] > best[n, o1, o2, c]:
                    best[n, o1, o2, c] = x[n, r, q, c]
                    where[n, o1, o2, c] = (r, q)
    dx = np.zeros(x.shape)
    for (n, o1, o2, c), (r, q) in where.items():
        dx[n, r, q, c] += g[n, o1, o2, c]
    return dx


def ref_avg_pool_grad(x, g, k, s, padding):
    """Spread ``g`` evenly over each window's unpadded elements."""
    windows = {}
    for o1, o2, _, _, r, q in _taps(x.shape[1:3], k, s, (1, 1), padding):
        windows.setdefault((o1, o2), []).append((r, q))
    dx = np.zeros(x.shape)
    for (o1, o2), cells in windows.items():
        for r, q in cells:
            dx[:, r, q] += g[:, o1, o2] / len(cells)
    return dx


def ref_depthwise_backprop_input(in_shape, w, dy, s=(1, 1), padding="SAME", d=(1, 1)):
    dy5 = dy.reshape(*dy.shape[:3], w.shape[2], w.shape[3])
    dx = np.zeros(in_shape)
    for o1, o2, i, j, r, q in _taps(in_shape[1:3], w.shape[:2], s, d, padding):
        dx[:, r, q] += np.sum(dy5[:, o1, o2] * w[i, j], axis=-1)
    return dx


def ref_depthwise_backprop_filter(x, w_shape, dy, s=(1, 1), padding="SAME", d=(1, 1)):
    dy5 = dy.reshape(*dy.shape[:3], w_shape[2], w_shape[3])
    dw = np.zeros(w_shape)
    for o1, o2, i, j, r, q in _taps(x.shape[1:3], w_shape[:2], s, d, padding):
        dw[i, j] += np.sum(x[:, r, q, :, None].astype(np.float64) * dy5[:, o1, o2], axis=0)
    return dw


def ref_lrn(x, depth_radius=5, bias=1.0, alpha=1.0, beta=0.5):
    x = x.astype(np.float64)
    c = x.shape[-1]
    sqr = np.stack([np.sum(x[..., max(0, k - depth_radius):k + depth_radius + 1] ** 2, axis=-1)
                    for k in range(c)], axis=-1)
    return x / (bias + alpha * sqr) ** beta


# ---- NCHW and input helpers -------------------------------------------------------------------
def _nchw(a):
    return np.transpose(a, (0, 3, 1, 2))


def _nhwc(a):
    return np.transpose(a, (0, 2, 3, 1))


_f = normal_inputs


TOL = dict(rtol=1e-4, atol=1e-5)
SPECS = []

# conv2d: (name, x shape NHWC, filter shape, strides, padding, dilations)
CONV_CASES = [
    ("same_s1", (2, 5, 6, 3), (3, 3, 3, 4), (1, 1), "SAME", (1, 1)),
    ("same_s2_odd", (2, 7, 6, 3), (3, 2, 3, 2), (2, 2), "SAME", (1, 1)),
    ("same_s2_k4_asym_pad", (1, 6, 6, 2), (4, 4, 2, 3), (2, 2), "SAME", (1, 1)),
    ("valid_s1", (2, 6, 5, 3), (3, 3, 3, 2), (1, 1), "VALID", (1, 1)),
    ("valid_s2_1", (2, 7, 7, 1), (3, 3, 1, 2), (2, 1), "VALID", (1, 1)),
    ("valid_s3_leftover", (1, 8, 8, 2), (2, 2, 2, 2), (3, 3), "VALID", (1, 1)),
    ("same_d2", (1, 7, 7, 2), (3, 3, 2, 3), (1, 1), "SAME", (2, 2)),
    ("valid_d2x3", (1, 8, 9, 2), (2, 3, 2, 2), (1, 1), "VALID", (2, 3)),
    ("explicit", (1, 5, 5, 2), (3, 3, 2, 2), (2, 2), ((1, 2), (0, 1)), (1, 1)),
    ("wide_same_s1", (2, 5, 5, 16), (3, 3, 16, 5), (1, 1), "SAME", (1, 1)),
    ("wide_same_s2_d1", (1, 6, 7, 12), (3, 2, 12, 4), (2, 2), "SAME", (1, 1)),
    ("wide_valid_d2", (1, 7, 7, 16), (2, 2, 16, 3), (1, 1), "VALID", (2, 2)),
    ("wide_s2x3_d1x2_explicit", (1, 9, 11, 8), (3, 3, 8, 3), (2, 3), ((1, 0), (2, 1)), (1, 2)),
    ("wide_valid_s3x2_leftover", (2, 8, 9, 8), (2, 3, 8, 2), (3, 2), "VALID", (1, 1)),
    ("1x1", (2, 4, 4, 3), (1, 1, 3, 5), (1, 1), "VALID", (1, 1)),
]


def _api_padding(padding):
    return padding if isinstance(padding, str) else [[0, 0], list(padding[0]), list(padding[1]), [0, 0]]


for _name, _xs, _ws, _s, _p, _d in CONV_CASES:
    _kw = dict(strides=[1, *_s, 1], padding=_api_padding(_p), dilations=[1, *_d, 1])
    _rkw = dict(s=_s, padding=_p, d=_d)
    _oh, _ow = _out_hw(_xs[1:3], _ws[:2], _s, _d, _p)
    _dys = (_xs[0], _oh, _ow, _ws[3])
    SPECS += [
        OpSpec(f"conv2d_{_name}", lambda x, w, kw=_kw: tf.nn.conv2d(x, w, **kw),
               lambda x, w, r=_rkw: ref_conv(x, w, **r), _f(_xs, _ws), **TOL),
        OpSpec(f"conv2d_backprop_input_{_name}",
               lambda w, dy, kw=_kw, xs=_xs: tf.nn.conv2d_backprop_input(xs, w, dy, **kw),
               lambda w, dy, r=_rkw, xs=_xs: ref_conv_backprop_input(xs, w, dy, **r), _f(_ws, _dys), **TOL),
        OpSpec(f"conv2d_backprop_filter_{_name}",
               lambda x, dy, kw=_kw, ws=_ws: tf.nn.conv2d_backprop_filter(x, ws, dy, **kw),
               lambda x, dy, r=_rkw, ws=_ws: ref_conv_backprop_filter(x, ws, dy, **r), _f(_xs, _dys), **TOL),
    ]


def _nchw_padding(p):
    return p if isinstance(p, str) else [[0, 0], [0, 0], list(p[0]), list(p[1])]


for _name, _xs, _ws, _s, _p, _d in [CONV_CASES[1], CONV_CASES[7], CONV_CASES[8], CONV_CASES[10]]:
    _kw = dict(strides=[1, 1, *_s], padding=_nchw_padding(_p), dilations=[1, 1, *_d], data_format="NCHW")
    _rkw = dict(s=_s, padding=_p, d=_d)
    SPECS.append(OpSpec(f"conv2d_nchw_{_name}", lambda x, w, kw=_kw: tf.nn.conv2d(x, w, **kw),
                        lambda x, w, r=_rkw: _nchw(ref_conv(_nhwc(x), w, **r)),
                        lambda rng, xs=_xs, ws=_ws: [_nchw(_f(xs)(rng)[0]), _f(ws)(rng)[0]], **TOL))


def _conv_second_order(x, w, **kw):
    """The gradients of sum(conv2d(x, w) ** 2): differentiating them again needs the gradients of
    Conv2DBackpropInput and Conv2DBackpropFilter."""
    y = tf.nn.conv2d(x, w, **kw)
    return tf.gradients(tf.reduce_sum(tf.square(y)), [x, w])


def _ref_conv_second_order(x, w, s, padding, d=(1, 1)):
    y = ref_conv(x, w, s, padding, d)
    return [ref_conv_backprop_input(x.shape, w, 2 * y, s, padding, d),
            ref_conv_backprop_filter(x, w.shape, 2 * y, s, padding, d)]


SPECS += [
    OpSpec("conv2d_unknown_shape", lambda x, w: tf.nn.conv2d(x, w, [1, 2, 2, 1], "SAME"),
           lambda x, w: ref_conv(x, w, (2, 2), "SAME"), _f((2, 5, 5, 3), (3, 3, 3, 2)), static_shape=False, **TOL),
    OpSpec("conv2d_second_order_same_s2", lambda x, w: _conv_second_order(x, w, strides=[1, 2, 2, 1], padding="SAME"),
           lambda x, w: _ref_conv_second_order(x, w, (2, 2), "SAME"), _f((2, 5, 6, 2), (3, 3, 2, 3)), rtol=1e-4,
           atol=1e-4),
    OpSpec("conv2d_second_order_wide_valid_d2",
           lambda x, w: _conv_second_order(x, w, strides=[1, 1, 1, 1], padding="VALID", dilations=[1, 2, 2, 1]),
           lambda x, w: _ref_conv_second_order(x, w, (1, 1), "VALID", (2, 2)), _f((1, 6, 6, 10), (2, 2, 10, 2)),
           rtol=1e-4, atol=1e-4),
    OpSpec("conv2d_transpose_same_s2",
           lambda v, w: tf.nn.conv2d_transpose(v, w, [2, 7, 8, 3], [1, 2, 2, 1], "SAME"),
           lambda v, w: ref_conv_backprop_input((2, 7, 8, 3), w, v, (2, 2), "SAME"), _f((2, 4, 4, 2), (3, 3, 3, 2)),
           **TOL),
    OpSpec("conv2d_transpose_valid_s2_tensor_shape",
           lambda v, w: tf.nn.conv2d_transpose(v, w, tf.constant([1, 9, 9, 2]), [1, 2, 2, 1], "VALID"),
           lambda v, w: ref_conv_backprop_input((1, 9, 9, 2), w, v, (2, 2), "VALID"), _f((1, 4, 4, 3), (3, 3, 2, 3)),
           **TOL),
]

# depthwise: (name, x shape, filter shape [kh, kw, C, multiplier], strides, padding, rate)
for _name, _xs, _ws, _s, _p, _rate in [
        ("same_s1", (2, 5, 5, 3), (3, 3, 3, 2), (1, 1), "SAME", None),
        ("same_s2_odd", (1, 7, 6, 2), (3, 2, 2, 3), (2, 2), "SAME", None),
        ("valid_m1", (2, 6, 6, 4), (3, 3, 4, 1), (1, 1), "VALID", None),
        ("same_rate2", (1, 7, 7, 2), (3, 3, 2, 2), (1, 1), "SAME", [2, 2])]:
    SPECS.append(OpSpec(f"depthwise_conv2d_{_name}",
                        lambda x, w, s=_s, p=_p, r=_rate: tf.nn.depthwise_conv2d(x, w, [1, *s, 1], p, rate=r),
                        lambda x, w, s=_s, p=_p, r=_rate: ref_depthwise(x, w, s, p, tuple(r or (1, 1))),
                        _f(_xs, _ws), **TOL))


def _depthwise_second_order(x, w):
    y = tf.nn.depthwise_conv2d(x, w, [1, 2, 2, 1], "SAME")
    return tf.gradients(tf.reduce_sum(tf.square(y)), [x, w])


SPECS += [
    OpSpec("depthwise_conv2d_nchw", lambda x, w: tf.nn.depthwise_conv2d(x, w, [1, 1, 2, 2], "SAME", data_format="NCHW"),
           lambda x, w: _nchw(ref_depthwise(_nhwc(x), w, (2, 2), "SAME")),
           lambda rng: [_nchw(_f((2, 5, 6, 3))(rng)[0]), _f((3, 3, 3, 2))(rng)[0]], **TOL),
    OpSpec("depthwise_conv2d_second_order", _depthwise_second_order,
           lambda x, w: [ref_depthwise_backprop_input(x.shape, w, 2 * ref_depthwise(x, w, (2, 2)), (2, 2)),
                         ref_depthwise_backprop_filter(x, w.shape, 2 * ref_depthwise(x, w, (2, 2)), (2, 2))],
           _f((1, 5, 5, 2), (3, 3, 2, 2)), rtol=1e-4, atol=1e-4),
    OpSpec("depthwise_conv2d_native_backprop_ops", lambda x, w, dy: [
        tf.nn.depthwise_conv2d_native_backprop_input([2, 5, 6, 2], w, dy, [1, 2, 2, 1], "SAME"),
        tf.nn.depthwise_conv2d_native_backprop_filter(x, [3, 3, 2, 2], dy, [1, 2, 2, 1], "SAME")],
           lambda x, w, dy: [ref_depthwise_backprop_input((2, 5, 6, 2), w, dy, (2, 2)),
                             ref_depthwise_backprop_filter(x, w.shape, dy, (2, 2))],
           _f((2, 5, 6, 2), (3, 3, 2, 2), (2, 3, 3, 4)), **TOL),
]

# pooling: (name, x shape, ksize, strides, padding)
POOL_CASES = [
    ("k2s2_valid", (2, 6, 7, 3), (2, 2), (2, 2), "VALID"),
    ("k3s2_same", (2, 7, 7, 2), (3, 3), (2, 2), "SAME"),
    ("k3s1_same_overlap", (1, 5, 6, 2), (3, 3), (1, 1), "SAME"),
    ("k2x3_s1x2_same", (2, 5, 7, 2), (2, 3), (1, 2), "SAME"),
    ("k2s2_same_tiles", (2, 6, 8, 3), (2, 2), (2, 2), "SAME"),  # windows tile the input exactly
    ("k2s3_valid_gaps", (1, 7, 8, 2), (2, 2), (3, 3), "VALID"),  # rows/columns no window reads
]
for _name, _xs, _k, _s, _p in POOL_CASES:
    for _fn, _ref in [(tf.nn.max_pool, ref_max_pool), (tf.nn.avg_pool, ref_avg_pool)]:
        SPECS.append(OpSpec(f"{_fn.__name__}_{_name}",
                            lambda x, fn=_fn, k=_k, s=_s, p=_p: fn(x, [1, *k, 1], [1, *s, 1], p),
                            lambda x, ref=_ref, k=_k, s=_s, p=_p: ref(x, k, s, p), distinct_inputs(_xs), **TOL))
        SPECS.append(OpSpec(f"{_fn.__name__}_nchw_{_name}",
                            lambda x, fn=_fn, k=_k, s=_s, p=_p: fn(x, [1, 1, *k], [1, 1, *s], p, data_format="NCHW"),
                            lambda x, ref=_ref, k=_k, s=_s, p=_p: _nchw(ref(_nhwc(x), k, s, p)),
                            lambda rng, xs=_xs: [_nchw(distinct_inputs(xs)(rng)[0])], **TOL))


def _pool_second_order(fn, k, s, p):
    """The gradient of sum(pool(x) ** 2): differentiating it needs MaxPoolGrad's / AvgPoolGrad's gradients."""
    def build(x):
        return tf.gradients(tf.reduce_sum(tf.square(fn(x, [1, k, k, 1], [1, s, s, 1], p))), x)[0]

    return build


SPECS += [
    OpSpec("max_pool_second_order", _pool_second_order(tf.nn.max_pool, 3, 2, "SAME"),
           lambda x: ref_max_pool_grad(x, 2 * ref_max_pool(x, (3, 3), (2, 2), "SAME"), (3, 3), (2, 2), "SAME"),
           distinct_inputs((2, 6, 5, 2)), **TOL),
    OpSpec("avg_pool_second_order", _pool_second_order(tf.nn.avg_pool, 3, 2, "SAME"),
           lambda x: ref_avg_pool_grad(x, 2 * ref_avg_pool(x, (3, 3), (2, 2), "SAME"), (3, 3), (2, 2), "SAME"),
           _f((2, 5, 6, 2)), **TOL),
    OpSpec("max_pool_ties_route_to_first", lambda x: tf.gradients(tf.reduce_sum(tf.nn.max_pool(
        x, [1, 2, 2, 1], [1, 1, 1, 1], "VALID")), x)[0],
        lambda x: ref_max_pool_grad(x, np.ones((1, 2, 2, 1)), (2, 2), (1, 1), "VALID"),
        lambda rng: [np.array([[1, 3, 3], [3, 0, 3], [2, 3, 1]], np.float32).reshape(1, 3, 3, 1)], grad=False),
    OpSpec("max_pool_ties_route_to_first_tiling", lambda x: tf.gradients(tf.reduce_sum(tf.nn.max_pool(
        x, [1, 2, 2, 1], [1, 2, 2, 1], "VALID")), x)[0],
        lambda x: ref_max_pool_grad(x, np.ones((1, 2, 2, 1)), (2, 2), (2, 2), "VALID"),
        lambda rng: [np.array([[3, 3, 1, 2], [3, 3, 2, 2], [0, 5, 4, 4], [5, 1, 4, 4]],
                              np.float32).reshape(1, 4, 4, 1)], grad=False),
    OpSpec("lrn_defaults", lambda x: tf.nn.lrn(x), ref_lrn, _f((2, 3, 3, 8)), **TOL),
    OpSpec("lrn_r2", lambda x: tf.nn.local_response_normalization(x, depth_radius=2, bias=0.5, alpha=0.3, beta=0.75),
           lambda x: ref_lrn(x, 2, 0.5, 0.3, 0.75), _f((1, 3, 4, 6)), **TOL),
]
