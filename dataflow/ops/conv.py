"""2-D convolution and pooling: Conv2D, DepthwiseConv2dNative, MaxPool, AvgPool with their gradient
primitives, and local response normalization.

Every kernel works on NHWC arrays (NCHW inputs are transposed on the way in and out; filters are
always ``[height, width, in_channels, out_channels]``) over the windows and GEMM layouts of
``window.py``: a loop over kernel taps (or kernel rows) whose bodies are whole-array operations.

* Conv2D: one GEMM ``im2col(x) @ filter`` (``[N*Ho*Wo, kh*kw*C] @ [kh*kw*C, O]``) when a window
  row is shallow (``kw * C < ROW_GEMM_MIN_DEPTH``), else kh GEMMs over the row columns,
  ``cols[rows_i] @ filter[i]`` (``[Ho*N*Wo, kw*C] @ [kw*C, O]``), summed.
* Conv2DBackpropFilter: the same operands transposed, ``im2col(x)^T @ dy`` or ``cols[rows_i]^T @ dy``.
* Conv2DBackpropInput: the adjoint of the row-columns path: kh GEMMs ``dy @ filter[i]^T`` added into
  row blocks of the row columns' gradient, kw strided adds fold that onto the padded input (col2im
  by whole-array slices, never a scatter), then the crop.
* DepthwiseConv2dNative and its backprops: a broadcast multiply / einsum per tap.

Gradients close over each family, as in TF: with ``F`` the forward op, ``BI`` its backprop-input
and ``BF`` its backprop-filter op (same attrs)::

    F(x, w)          -> dx = BI(shape(x), w, g),   dw = BF(x, shape(w), g)
    BI(sizes, w, dy) -> dw = BF(g, shape(w), dy),  ddy = F(g, w)
    BF(x, sizes, dy) -> dx = BI(shape(x), g, dy),  ddy = F(x, g)

so gradients of any order are convolutions again.

* MaxPool: running ``maximum`` over the taps (padding is -inf, so never selected).
* MaxPoolGrad(x, y, g): routes each output's gradient to the *first* input of its window (row-major
  scan, as TF's CPU kernel) equal to the max ``y``: per tap, ``hit = (slice == y) & ~taken`` and
  the tap's slice of the padded input gradient gets ``g * hit``.
* MaxPoolGradGrad(x, y, gg): the transpose of that routing, gathering ``gg`` at each window's max.
  MaxPoolGrad and MaxPoolGradGrad are linear in their last input and each other's gradient, so
  gradients of any order exist (zero with respect to ``x`` and ``y``, which only choose the routes).
* AvgPool / AvgPoolGrad(input_shape, g): sum over the taps divided by the number of *valid*
  (unpadded) elements of each window, a separable count; AvgPoolGrad spreads ``g / count`` back
  over the taps, and its gradient is AvgPool again.

``lrn`` is composed of primitives: the sum of squares over the channel window is one matmul with a
constant band matrix, so its gradient (of any order) comes from the gradient engine.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..framework.graph import Tensor, convert_to_tensor, make_op, name_scope
from ..framework.registry import OpDef, register
from ..framework.tensor_shape import TensorShape
from .common import binary_inputs, shape_of, shape_tensor_as_static, shape_value
from .blas import gemm_into
from .parallel import run_rows
from .window import (
    Window, check_format, conv_window, dims4, format_dims, from_nhwc, from_rows, im2col_t, nhwc_dims, pad,
    padding_attrs, pool_window, row_cols, row_slices, spatial_attr, to_nhwc)

__all__ = ["conv2d", "conv2d_backprop_filter", "conv2d_backprop_input", "conv2d_transpose",
           "depthwise_conv2d", "depthwise_conv2d_native", "depthwise_conv2d_native_backprop_filter",
           "depthwise_conv2d_native_backprop_input",
           "avg_pool", "avg_pool2d", "local_response_normalization", "lrn", "max_pool", "max_pool2d"]

# Below this window-row depth (kw * in_channels) a GEMM per kernel row reduces over too little to be
# efficient and one GEMM over the whole im2col matrix is faster (measured on 3x3 and 5x5 layers).
ROW_GEMM_MIN_DEPTH = 16
# From this many input channels (the GEMMs' width), a stride-1 input gradient is one GEMM per kernel tap
# accumulated in place (measured on 5x5x32 -> 64: 8.5 -> 7.1 ms, 12.2 -> 11.3 ms with AVX2 kernels).
TAP_GEMM_MIN_CHANNELS = 16
_WINDOW_ATTRS = ("strides", "padding", "explicit_paddings", "dilations", "data_format")


def _same_dtype(op, a: Tensor, b: Tensor):
    if a.dtype is not b.dtype:
        raise TypeError(f"{op.type} inputs must have the same dtype, got {a.dtype.name} and {b.dtype.name}")
    if not a.dtype.is_floating:
        raise TypeError(f"{op.type} supports floating point inputs only, got {a.dtype.name}")


# ---- NHWC kernel cores ------------------------------------------------------------------------
def _patches(xp, x, w: Window, shared=None, key=None, consume=False):
    """The GEMM operand of a convolution of ``x``: ``im2col_t`` for few channels, else ``row_cols``.

    With a ``shared`` holder (``OpDef.shares``: a Conv2D and the Conv2DBackpropFilter of the same
    input in one run), the forward op leaves its patches there and the filter gradient takes them
    instead of building them again; ``key`` is the op's input array as given (identity-checked).
    """
    if shared is not None and consume:
        held, shared.value = shared.value, None
        if held is not None and held[0] is key:
            return held[1]
    cols = im2col_t(xp, pad(xp, x, w), w) if w.k[1] * x.shape[3] < ROW_GEMM_MIN_DEPTH else row_cols(xp, x, w)
    if shared is not None and not consume:
        shared.value = (key, cols)
    return cols


def _conv(xp, x, f, w: Window, shared=None, key=None):
    n, c, o = x.shape[0], x.shape[3], f.shape[3]
    oh, ow = w.out
    cols = _patches(xp, x, w, shared, key)
    if w.k[1] * c < ROW_GEMM_MIN_DEPTH:
        return xp.matmul(cols.T, f.reshape(-1, o)).reshape(n, oh, ow, o)
    k = cols.shape[3]
    out = xp.empty((oh * n * ow, o), dtype=x.dtype)
    for i, rows in enumerate(row_slices(w)):  # out (+)= kernel row i's GEMM, accumulated by BLAS
        gemm_into(xp, cols[rows].reshape(-1, k), f[i].reshape(k, o), out, beta=1.0 if i else 0.0)
    return from_rows(xp, out.reshape(oh, n, ow, o))


def _conv_backprop_filter(xp, x, f_shape, dy, w: Window, shared=None, key=None):
    kh, kw, c, o = f_shape
    cols = _patches(xp, x, w, shared, key, consume=True)
    if kw * c < ROW_GEMM_MIN_DEPTH:
        return xp.matmul(cols, dy.reshape(-1, o)).reshape(f_shape)
    dyh = xp.transpose(dy, (1, 0, 2, 3)).reshape(-1, o)
    df = xp.empty((kh, kw * c, o), dtype=dy.dtype)
    for i, rows in enumerate(row_slices(w)):
        df[i] = xp.matmul(cols[rows].reshape(-1, kw * c).T, dyh)
    return df.reshape(f_shape)


def _conv_backprop_input_taps(xp, in_shape, f, dy, w: Window):
    """Stride 1: one GEMM per kernel tap, accumulated by BLAS straight into the padded input gradient.

    With ``dy`` H-major and each row padded to the padded input width ``wp`` (zeros on the right), the
    rows ``(oy, n, ox)`` tap ``(i, j)`` sends to ``(oy + i*dh, n, ox + j*dw)`` are the source rows shifted
    by one constant, ``i*dh*N*wp + j*dw`` rows: a contiguous row block of the gradient, so each tap is
    ``dxt[s:s+M] += dy_rows @ f[i, j].T`` with no patch matrix and no slice-adds. The padding columns
    are zeros, so what they add past a row's end (into the next row, or slack rows) is zero.
    """
    n, h, wd, c = in_shape
    kh, kw, _, o = f.shape
    (oh, ow), (dh, dw) = w.out, w.d
    (pt, _), (pl, _) = w.pads
    hp, wp = w.padded((h, wd))
    dyp = xp.zeros((oh, n, wp, o), dtype=dy.dtype)
    dyp[:, :, :ow, :] = xp.transpose(dy, (1, 0, 2, 3))
    rows = dyp.reshape(-1, o)
    m = rows.shape[0]
    dxt = xp.zeros((hp * n * wp + (kw - 1) * dw, c), dtype=dy.dtype)
    for i in range(kh):
        for j in range(kw):
            s = (i * dh * n * wp) + j * dw
            gemm_into(xp, rows, f[i, j].T, dxt[s:s + m])
    return from_rows(xp, dxt[:hp * n * wp].reshape(hp, n, wp, c)[pt:pt + h, :, pl:pl + wd, :])


def _conv_backprop_input(xp, in_shape, f, dy, w: Window):
    n, h, wd, c = in_shape
    _, kw, _, o = f.shape
    if w.s == (1, 1) and c >= TAP_GEMM_MIN_CHANNELS:
        return _conv_backprop_input_taps(xp, in_shape, f, dy, w)
    (oh, ow), (sw, dw) = w.out, (w.s[1], w.d[1])
    (pt, _), (pl, _) = w.pads
    hp, wp = w.padded((h, wd))
    dyh = xp.transpose(dy, (1, 0, 2, 3)).reshape(-1, o)
    dcols = xp.zeros((hp, n, ow, kw * c), dtype=dy.dtype)  # the gradient of row_cols(x)
    for i, rows in enumerate(row_slices(w)):  # accumulated by BLAS into each row block
        block = dcols[rows]
        if block.flags.c_contiguous:  # row stride 1
            gemm_into(xp, dyh, f[i].reshape(kw * c, o).T, block.reshape(-1, kw * c))
        else:
            block += xp.matmul(dyh, f[i].reshape(kw * c, o).T).reshape(oh, n, ow, kw * c)
    dcols = dcols.reshape(hp, n, ow, kw, c)
    dxt = xp.zeros((hp, n, wp, c), dtype=dy.dtype)
    for j in range(kw):
        dxt[:, :, j * dw:j * dw + sw * (ow - 1) + 1:sw, :] += dcols[:, :, :, j, :]
    return from_rows(xp, dxt[pt:pt + h, :, pl:pl + wd, :])


def _depthwise(xp, x, f, w: Window):
    n, c = x.shape[0], x.shape[3]
    m = f.shape[3]
    xpad = pad(xp, x, w)
    out = xp.zeros((n, w.out[0], w.out[1], c, m), dtype=x.dtype)
    for i, j, rows, cols in w.taps():
        out += xpad[:, rows, cols, :, None] * f[i, j]
    return out.reshape(n, w.out[0], w.out[1], c * m)


def _depthwise_backprop_input(xp, in_shape, f, dy, w: Window):
    n, h, wd, c = in_shape
    m = f.shape[3]
    dy5 = dy.reshape(n, w.out[0], w.out[1], c, m)
    ph, pw = w.padded((h, wd))
    dxpad = xp.zeros((n, ph, pw, c), dtype=dy.dtype)
    for i, j, rows, cols in w.taps():
        dxpad[:, rows, cols, :] += xp.einsum("nhwcm,cm->nhwc", dy5, f[i, j])
    return w.crop(dxpad, (h, wd))


def _depthwise_backprop_filter(xp, x, f_shape, dy, w: Window):
    kh, kw, c, m = f_shape
    n = x.shape[0]
    dy5 = dy.reshape(n, w.out[0], w.out[1], c, m)
    xpad = pad(xp, x, w)
    df = xp.empty((kh, kw, c, m), dtype=dy.dtype)
    for i, j, rows, cols in w.taps():
        df[i, j] = xp.einsum("nhwc,nhwcm->cm", xpad[:, rows, cols, :], dy5)
    return df


# ---- the ops: one family table, three primitives per family ------------------------------------
@dataclass(frozen=True)
class _Family:
    forward: str        # F(x, f)
    backprop_input: str   # BI(input_sizes, f, dy)
    backprop_filter: str  # BF(x, filter_sizes, dy)
    depthwise: bool     # output channels = in_channels * multiplier (filter [kh, kw, C, M])


_FAMILIES = [_Family("Conv2D", "Conv2DBackpropInput", "Conv2DBackpropFilter", False),
             _Family("DepthwiseConv2dNative", "DepthwiseConv2dNativeBackpropInput",
                     "DepthwiseConv2dNativeBackpropFilter", True)]


def _out_shape(fam: _Family, x_dims, f_dims, attrs) -> TensorShape:
    """The static output shape of ``fam.forward`` for input/filter dims (NHWC/HWIO lists, None unknown)."""
    n, h, wd, c = x_dims
    kh, kw, fc, o = f_dims
    if c is not None and fc is not None and c != fc:
        raise ValueError(f"input depth {c} must equal the filter's in_channels {fc}")
    if fam.depthwise:
        depth = c if c is not None else fc
        o = None if depth is None or o is None else depth * o
    if kh is None or kw is None:
        oh = ow = None
    else:
        win = conv_window((h, wd), (kh, kw), **{a: attrs[a] for a in _WINDOW_ATTRS})
        oh, ow = win.out
    return TensorShape(format_dims([n, oh, ow, o], attrs["data_format"]))


def _forward_infer(fam: _Family):
    def infer(op):
        x, f = op.inputs
        _same_dtype(op, x, f)
        x_dims = nhwc_dims(dims4(x.shape, "input"), op.attrs["data_format"])
        return [(x.dtype, _out_shape(fam, x_dims, dims4(f.shape, "filter"), op.attrs))]

    return infer


def _backprop_input_infer(op):
    sizes, f, dy = op.inputs
    _same_dtype(op, f, dy)
    shape = shape_tensor_as_static(sizes)
    if shape.ndims not in (None, 4):
        raise ValueError(f"input_sizes must have 4 elements, got {shape}")
    return [(dy.dtype, shape)]


def _backprop_filter_infer(op):
    x, sizes, dy = op.inputs
    _same_dtype(op, x, dy)
    shape = shape_tensor_as_static(sizes)
    if shape.ndims not in (None, 4):
        raise ValueError(f"filter_sizes must have 4 elements, got {shape}")
    return [(x.dtype, shape)]


def _check_out(dy, win: Window, what: str):
    if tuple(dy.shape[1:3]) != win.out:
        raise ValueError(f"{what}: out_backprop spatial size {tuple(dy.shape[1:3])} does not match the "
                         f"computed output size {win.out}")


def _kernels(fam: _Family):
    core, core_bi, core_bf = ((_depthwise, _depthwise_backprop_input, _depthwise_backprop_filter)
                              if fam.depthwise else (_conv, _conv_backprop_input, _conv_backprop_filter))

    def forward(xp, x, f, *, strides, padding, explicit_paddings, dilations, data_format, shared=None):
        key, x = x, to_nhwc(xp, x, data_format)
        win = conv_window(x.shape[1:3], f.shape[:2], strides, padding, explicit_paddings, dilations,
                          data_format)
        out = core(xp, x, f, win, shared, key) if shared is not None else core(xp, x, f, win)
        return from_nhwc(xp, out, data_format)

    def backprop_input(xp, sizes, f, dy, *, strides, padding, explicit_paddings, dilations, data_format):
        in_shape = tuple(nhwc_dims([int(v) for v in sizes], data_format))
        dy = to_nhwc(xp, dy, data_format)
        win = conv_window(in_shape[1:3], f.shape[:2], strides, padding, explicit_paddings, dilations,
                          data_format)
        _check_out(dy, win, fam.backprop_input)
        return from_nhwc(xp, core_bi(xp, in_shape, f, dy, win), data_format)

    def backprop_filter(xp, x, sizes, dy, *, strides, padding, explicit_paddings, dilations, data_format,
                        shared=None):
        f_shape = shape_value(sizes)
        key, x, dy = x, to_nhwc(xp, x, data_format), to_nhwc(xp, dy, data_format)
        win = conv_window(x.shape[1:3], f_shape[:2], strides, padding, explicit_paddings, dilations,
                          data_format)
        _check_out(dy, win, fam.backprop_filter)
        # the filter is HWIO in every data_format
        return core_bf(xp, x, f_shape, dy, win, shared, key) if shared is not None else core_bf(xp, x, f_shape, dy, win)

    return forward, backprop_input, backprop_filter


def _op(op_type, inputs, attrs) -> Tensor:
    """A new op with a copy of another op's attrs (gradient ops share their forward op's attrs)."""
    return make_op(op_type, inputs, dict(attrs)).outputs[0]


def _grads(fam: _Family):
    def forward_grad(op, g):
        x, f = op.inputs
        return [_op(fam.backprop_input, [shape_of(x), f, g], op.attrs),
                _op(fam.backprop_filter, [x, shape_of(f), g], op.attrs)]

    def backprop_input_grad(op, g):
        _, f, dy = op.inputs
        return [None, _op(fam.backprop_filter, [g, shape_of(f), dy], op.attrs),
                _op(fam.forward, [g, f], op.attrs)]

    def backprop_filter_grad(op, g):
        x, _, dy = op.inputs
        return [_op(fam.backprop_input, [shape_of(x), g, dy], op.attrs), None,
                _op(fam.forward, [x, g], op.attrs)]

    return forward_grad, backprop_input_grad, backprop_filter_grad


def _patch_key(op):
    """Conv2D(x, w) and Conv2DBackpropFilter(x, sizes, dy) of one input, window and kernel size build
    the same patches of x (``OpDef.shares``)."""
    k = (op.inputs[1] if op.type == "Conv2D" else op.outputs[0]).shape
    if k.ndims != 4 or None in k.as_list()[:3]:
        return None
    key = ("conv-patches", op.inputs[0], tuple(k.as_list()[:3]), *(op.attrs[a] for a in _WINDOW_ATTRS))
    try:
        hash(key)
    except TypeError:  # an attr given as a list: no sharing
        return None
    return key


for _fam in _FAMILIES:
    _k = _kernels(_fam)
    _g = _grads(_fam)
    _shares = None if _fam.depthwise else _patch_key
    register(OpDef(_fam.forward, _forward_infer(_fam), _k[0], grad=_g[0], shares=_shares))
    register(OpDef(_fam.backprop_input, _backprop_input_infer, _k[1], grad=_g[1]))
    register(OpDef(_fam.backprop_filter, _backprop_filter_infer, _k[2], grad=_g[2], shares=_shares))


# ---- public API -------------------------------------------------------------------------------
def _conv_attrs(strides, padding, dilations, data_format, **extra) -> dict:
    data_format = check_format(data_format)
    attrs = {"strides": spatial_attr(strides, data_format, "strides"),
             "dilations": spatial_attr(dilations, data_format, "dilations"),
             "data_format": data_format, **padding_attrs(padding, data_format), **extra}
    return attrs


def _sizes(sizes) -> Tensor:
    if isinstance(sizes, Tensor):
        return sizes
    if isinstance(sizes, TensorShape):
        sizes = sizes.as_list()
    return convert_to_tensor(np.asarray(sizes, dtype=np.int32))


def conv2d(input, filter=None, strides=None, padding=None, use_cudnn_on_gpu=True, data_format="NHWC",
           dilations=(1, 1, 1, 1), name=None, filters=None) -> Tensor:
    """2-D convolution (cross-correlation, as TF) of ``input`` with ``filter``.

    Parameters
    ----------
    input : 4-D tensor, ``[batch, height, width, in_channels]`` (NHWC) or ``[batch, in_channels,
        height, width]`` (NCHW).
    filter : ``[filter_height, filter_width, in_channels, out_channels]``.
    strides, dilations : 4 ints in ``data_format`` order (or 1 or 2 spatial ints).
    padding : ``"SAME"`` (output size ``ceil(in / stride)``), ``"VALID"`` or explicit pairs.

    Examples
    --------
    >>> import dataflow as tf, numpy as np
    >>> x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    >>> y = tf.nn.conv2d(x, np.ones((2, 2, 1, 1), np.float32), strides=[1, 2, 2, 1], padding="VALID")
    >>> tf.Session().run(y)[0, :, :, 0]
    array([[10., 18.],
           [42., 50.]], dtype=float32)
    """
    filter = filters if filter is None else filter
    x, f = binary_inputs(input, filter)
    attrs = _conv_attrs(strides, padding, dilations, data_format, use_cudnn_on_gpu=bool(use_cudnn_on_gpu))
    return make_op("Conv2D", [x, f], attrs, name).outputs[0]


def conv2d_backprop_input(input_sizes, filter=None, out_backprop=None, strides=None, padding=None,
                          use_cudnn_on_gpu=True, data_format="NHWC", dilations=(1, 1, 1, 1), name=None,
                          filters=None) -> Tensor:
    """The gradient of :func:`conv2d` with respect to its input, of shape ``input_sizes``."""
    filter = filters if filter is None else filter
    f, dy = binary_inputs(filter, out_backprop)
    attrs = _conv_attrs(strides, padding, dilations, data_format, use_cudnn_on_gpu=bool(use_cudnn_on_gpu))
    return make_op("Conv2DBackpropInput", [_sizes(input_sizes), f, dy], attrs, name).outputs[0]


def conv2d_backprop_filter(input, filter_sizes, out_backprop, strides, padding, use_cudnn_on_gpu=True,
                           data_format="NHWC", dilations=(1, 1, 1, 1), name=None) -> Tensor:
    """The gradient of :func:`conv2d` with respect to its filter, of shape ``filter_sizes``."""
    x, dy = binary_inputs(input, out_backprop)
    attrs = _conv_attrs(strides, padding, dilations, data_format, use_cudnn_on_gpu=bool(use_cudnn_on_gpu))
    return make_op("Conv2DBackpropFilter", [x, _sizes(filter_sizes), dy], attrs, name).outputs[0]


def conv2d_transpose(value=None, filter=None, output_shape=None, strides=None, padding="SAME",
                     data_format="NHWC", name=None, input=None, filters=None, dilations=None) -> Tensor:
    """The transpose of :func:`conv2d` (``Conv2DBackpropInput``), sometimes called deconvolution.

    ``filter`` is ``[height, width, output_channels, in_channels]``; the result has ``output_shape``.

    Examples
    --------
    >>> import dataflow as tf, numpy as np
    >>> x = np.ones((1, 2, 2, 1), np.float32)
    >>> y = tf.nn.conv2d_transpose(x, np.ones((2, 2, 1, 1), np.float32), [1, 4, 4, 1], [1, 2, 2, 1])
    >>> tf.Session().run(y).shape
    (1, 4, 4, 1)
    """
    value = input if value is None else value
    filter = filters if filter is None else filter
    return conv2d_backprop_input(output_shape, filter, value, strides, padding, data_format=data_format,
                                 dilations=dilations, name=name or "conv2d_transpose")


def depthwise_conv2d_native(input, filter, strides, padding, data_format="NHWC", dilations=(1, 1, 1, 1),
                            name=None) -> Tensor:
    """Depthwise convolution: each input channel convolved with its own ``channel_multiplier`` filters.

    ``filter`` is ``[height, width, in_channels, channel_multiplier]``; output channel
    ``c * channel_multiplier + m`` is input channel ``c`` convolved with ``filter[:, :, c, m]``.
    """
    x, f = binary_inputs(input, filter)
    attrs = _conv_attrs(strides, padding, dilations, data_format)
    return make_op("DepthwiseConv2dNative", [x, f], attrs, name).outputs[0]


def depthwise_conv2d_native_backprop_input(input_sizes, filter, out_backprop, strides, padding,
                                           data_format="NHWC", dilations=(1, 1, 1, 1), name=None) -> Tensor:
    """The gradient of :func:`depthwise_conv2d_native` with respect to its input."""
    f, dy = binary_inputs(filter, out_backprop)
    attrs = _conv_attrs(strides, padding, dilations, data_format)
    return make_op("DepthwiseConv2dNativeBackpropInput", [_sizes(input_sizes), f, dy], attrs, name).outputs[0]


def depthwise_conv2d_native_backprop_filter(input, filter_sizes, out_backprop, strides, padding,
                                            data_format="NHWC", dilations=(1, 1, 1, 1), name=None) -> Tensor:
    """The gradient of :func:`depthwise_conv2d_native` with respect to its filter."""
    x, dy = binary_inputs(input, out_backprop)
    attrs = _conv_attrs(strides, padding, dilations, data_format)
    return make_op("DepthwiseConv2dNativeBackpropFilter", [x, _sizes(filter_sizes), dy], attrs,
                   name).outputs[0]


def depthwise_conv2d(input, filter, strides, padding, rate=None, name=None, data_format=None,
                     dilations=None) -> Tensor:
    """Depthwise 2-D convolution (``tf.nn.depthwise_conv2d``); ``rate`` is the dilation ``[rh, rw]``.

    Examples
    --------
    >>> import dataflow as tf, numpy as np
    >>> x = np.ones((1, 3, 3, 2), np.float32)
    >>> y = tf.nn.depthwise_conv2d(x, np.ones((3, 3, 2, 2), np.float32), [1, 1, 1, 1], "VALID")
    >>> tf.Session().run(y).shape
    (1, 1, 1, 4)
    """
    data_format = check_format(data_format)
    rate = dilations if rate is None else rate
    if rate is not None and any(int(r) != 1 for r in np.ravel(rate)):
        if any(s != 1 for s in spatial_attr(strides, data_format, "strides")):
            raise ValueError("strides > 1 not supported in conjunction with rate > 1")
    return depthwise_conv2d_native(input, filter, strides, padding, data_format=data_format,
                                   dilations=rate if rate is not None else 1, name=name or "depthwise")


# ==== pooling and local response normalization ================================================
def _lowest(dtype):
    dtype = np.dtype(dtype)
    return -np.inf if dtype.kind == "f" else np.iinfo(dtype).min


# ---- shape inference --------------------------------------------------------------------------
def _pooled_shape(in_shape: TensorShape, attrs) -> TensorShape:
    fmt = attrs["data_format"]
    n, h, w, c = nhwc_dims(dims4(in_shape, "value"), fmt)
    oh, ow = pool_window((h, w), attrs["ksize"], attrs["strides"], attrs["padding"], fmt).out
    return TensorShape(format_dims([n, oh, ow, c], fmt))


def _pool_infer(op):
    x = op.inputs[0]
    if op.type == "AvgPool" and not x.dtype.is_floating:
        raise TypeError(f"AvgPool supports floating point inputs only, got {x.dtype.name}")
    return [(x.dtype, _pooled_shape(x.shape, op.attrs))]


def _same_dtypes(op):
    dt = op.inputs[0].dtype
    for t in op.inputs[1:]:
        if t.dtype is not dt:
            raise TypeError(f"{op.type} inputs must have the same dtype, got {dt.name} and {t.dtype.name}")
    return dt


def _max_pool_grad_infer(op):  # (x, y, g) -> shaped like x
    return [(_same_dtypes(op), op.inputs[0].shape)]


def _max_pool_grad_grad_infer(op):  # (x, y, gg) -> shaped like y
    return [(_same_dtypes(op), op.inputs[1].shape)]


def _avg_pool_grad_infer(op):  # (input_shape, g) -> input_shape
    return [(op.inputs[1].dtype, shape_tensor_as_static(op.inputs[0]))]


# ---- kernels (NHWC cores wrapped by format conversion) -----------------------------------------
def _max_pool_kernel(xp, x, *, ksize, strides, padding, data_format):
    x = to_nhwc(xp, x, data_format)
    win = pool_window(x.shape[1:3], ksize, strides, padding, data_format)
    out = xp.empty((x.shape[0], *win.out, x.shape[3]), dtype=x.dtype)

    def rows(lo, hi):  # images lo..hi-1
        xpad, o = pad(xp, x[lo:hi], win, value=_lowest(x.dtype)), out[lo:hi]
        for t, (_, _, r, c) in enumerate(win.taps()):
            xp.copyto(o, xpad[:, r, c, :]) if t == 0 else xp.maximum(o, xpad[:, r, c, :], out=o)

    run_rows(xp, x.shape[0], x.size, rows)
    return from_nhwc(xp, out, data_format)


def _max_routes(xp, x, y, win: Window):
    """``(rows, cols, hit)`` per tap: ``hit`` marks the outputs whose (first) max is this tap's input."""
    xpad = pad(xp, x, win, value=_lowest(x.dtype))
    taps = list(win.taps())
    taken = None
    for t, (_, _, rows, cols) in enumerate(taps):
        equal = xpad[:, rows, cols, :] == y
        hit = equal if taken is None else xp.greater(equal, taken)  # equal and not taken (bools)
        if t + 1 < len(taps):
            taken = equal.copy() if taken is None else xp.logical_or(taken, equal, out=taken)
        yield rows, cols, hit


def _max_pool_grad_tiles(xp, x, y, g, kh: int, kw: int):
    """MaxPoolGrad where the windows tile ``x`` exactly (stride = size, no padding): ``x`` viewed as
    ``[N, Ho, kh, Wo, kw, C]`` is compared with ``y`` once, ties go to the first tap (row-major) on
    that bool mask, and one product with ``g`` broadcast writes the result in ``x``'s layout."""
    n, h, w, c = x.shape
    oh, ow = h // kh, w // kw
    out = xp.empty((n, oh, kh, ow, kw, c), dtype=g.dtype)

    def rows(lo, hi):  # images lo..hi-1
        hit = xp.equal(x[lo:hi].reshape(hi - lo, oh, kh, ow, kw, c), y[lo:hi, :, None, :, None, :])
        taken = None
        for i in range(kh):
            for j in range(kw):
                tap = hit[:, :, i, :, j]
                if taken is None:
                    taken = tap.copy()
                    continue
                first = xp.greater(tap, taken)  # equal and not taken (bools)
                xp.logical_or(taken, tap, out=taken)
                tap[...] = first
        xp.multiply(g[lo:hi, :, None, :, None, :], hit, out=out[lo:hi])

    run_rows(xp, n, x.size, rows)
    return out.reshape(x.shape)


def _max_pool_grad_kernel(xp, x, y, g, *, ksize, strides, padding, data_format):
    x, y, g = (to_nhwc(xp, t, data_format) for t in (x, y, g))
    win = pool_window(x.shape[1:3], ksize, strides, padding, data_format)
    padded = win.padded(x.shape[1:3])
    if win.s == win.k and win.d == (1, 1) and all(win.out[a] * win.s[a] == x.shape[1 + a] for a in (0, 1)):
        return from_nhwc(xp, _max_pool_grad_tiles(xp, x, y, g, *win.k), data_format)
    shape = (x.shape[0], *padded, x.shape[3])
    # windows that do not overlap write their own positions; the rest of dxpad stays 0
    disjoint = win.s[0] >= win.k[0] and win.s[1] >= win.k[1]
    dxpad = xp.zeros(shape, dtype=g.dtype)

    def rows(lo, hi):  # images lo..hi-1
        # NOTE: g * hit rather than where(hit, g, 0): NumPy's where branches per element and is ~15x
        # slower on random masks; the results differ only where g is inf or NaN.
        gs, d = g[lo:hi], dxpad[lo:hi]
        for r, c, hit in _max_routes(xp, x[lo:hi], y[lo:hi], win):
            if disjoint:
                xp.multiply(gs, hit, out=d[:, r, c, :])
            else:
                d[:, r, c, :] += gs * hit

    run_rows(xp, x.shape[0], x.size, rows)
    return from_nhwc(xp, win.crop(dxpad, x.shape[1:3]), data_format)


def _max_pool_grad_grad_kernel(xp, x, y, gg, *, ksize, strides, padding, data_format):
    x, y, gg = (to_nhwc(xp, t, data_format) for t in (x, y, gg))
    win = pool_window(x.shape[1:3], ksize, strides, padding, data_format)
    ggpad = pad(xp, gg, win)
    out = xp.zeros(y.shape, dtype=gg.dtype)
    for rows, cols, hit in _max_routes(xp, x, y, win):
        out += ggpad[:, rows, cols, :] * hit  # NOTE: a product, not where(): see _max_pool_grad_kernel
    return from_nhwc(xp, out, data_format)


def _valid_counts(xp, win: Window, in_hw, dtype):
    """``[1, Ho, Wo, 1]``: how many unpadded input elements each window covers."""
    def per_axis(a):
        start = xp.arange(win.out[a]) * win.s[a] - win.pads[a][0]
        return xp.minimum(start + win.k[a], in_hw[a]) - xp.maximum(start, 0)

    return (per_axis(0)[:, None] * per_axis(1)[None, :]).astype(dtype)[None, :, :, None]


def _avg_pool_kernel(xp, x, *, ksize, strides, padding, data_format):
    x = to_nhwc(xp, x, data_format)
    win = pool_window(x.shape[1:3], ksize, strides, padding, data_format)
    xpad = pad(xp, x, win)
    out = None
    for _, _, rows, cols in win.taps():
        v = xpad[:, rows, cols, :]
        out = v.copy() if out is None else xp.add(out, v, out=out)
    out /= _valid_counts(xp, win, x.shape[1:3], x.dtype)
    return from_nhwc(xp, out, data_format)


def _avg_pool_grad_kernel(xp, in_shape, g, *, ksize, strides, padding, data_format):
    n, h, w, c = nhwc_dims([int(v) for v in in_shape], data_format)
    g = to_nhwc(xp, g, data_format)
    win = pool_window((h, w), ksize, strides, padding, data_format)
    gs = g / _valid_counts(xp, win, (h, w), g.dtype)
    dxpad = xp.zeros((n, *win.padded((h, w)), c), dtype=g.dtype)
    for _, _, rows, cols in win.taps():
        dxpad[:, rows, cols, :] += gs
    return from_nhwc(xp, win.crop(dxpad, (h, w)), data_format)


# ---- gradients and registration ---------------------------------------------------------------
def _zeros(t: Tensor) -> Tensor:
    from .array import zeros_like

    return zeros_like(t)


def _max_pool_grad(op, g):
    return [_op("MaxPoolGrad", [op.inputs[0], op.outputs[0], g], op.attrs)]


def _grad_of_max_pool_grad(op, g):  # MaxPoolGrad(x, y, dy): linear in dy
    x, y, _ = op.inputs
    return [_zeros(x), _zeros(y), _op("MaxPoolGradGrad", [x, y, g], op.attrs)]


def _grad_of_max_pool_grad_grad(op, g):  # MaxPoolGradGrad(x, y, gg): linear in gg
    x, y, _ = op.inputs
    return [_zeros(x), _zeros(y), _op("MaxPoolGrad", [x, y, g], op.attrs)]


register(OpDef("MaxPool", _pool_infer, _max_pool_kernel, grad=_max_pool_grad))
register(OpDef("MaxPoolGrad", _max_pool_grad_infer, _max_pool_grad_kernel, grad=_grad_of_max_pool_grad))
register(OpDef("MaxPoolGradGrad", _max_pool_grad_grad_infer, _max_pool_grad_grad_kernel,
               grad=_grad_of_max_pool_grad_grad))
register(OpDef("AvgPool", _pool_infer, _avg_pool_kernel,
               grad=lambda op, g: [_op("AvgPoolGrad", [shape_of(op.inputs[0]), g], op.attrs)]))
register(OpDef("AvgPoolGrad", _avg_pool_grad_infer, _avg_pool_grad_kernel,
               grad=lambda op, g: [None, _op("AvgPool", [g], op.attrs)]))


# ---- public API -------------------------------------------------------------------------------
def _pool(op_type, value, ksize, strides, padding, data_format, name) -> Tensor:
    x = convert_to_tensor(value)
    data_format = check_format(data_format)
    if not isinstance(padding, str) or padding.upper() not in ("SAME", "VALID"):
        raise ValueError(f"padding must be 'SAME' or 'VALID', got {padding!r}")
    attrs = {"ksize": spatial_attr(ksize, data_format, "ksize"),
             "strides": spatial_attr(strides, data_format, "strides"),
             "padding": padding.upper(), "data_format": data_format}
    return make_op(op_type, [x], attrs, name).outputs[0]


def max_pool(value=None, ksize=None, strides=None, padding=None, data_format="NHWC", name=None,
             input=None) -> Tensor:
    """Max pooling over ``ksize`` windows moved by ``strides`` (4-vectors in ``data_format`` order).

    Examples
    --------
    >>> import dataflow as tf, numpy as np
    >>> x = np.arange(16, dtype=np.float32).reshape(1, 4, 4, 1)
    >>> tf.Session().run(tf.nn.max_pool(x, [1, 2, 2, 1], [1, 2, 2, 1], "VALID"))[0, :, :, 0]
    array([[ 5.,  7.],
           [13., 15.]], dtype=float32)
    """
    return _pool("MaxPool", input if value is None else value, ksize, strides, padding, data_format, name)


def avg_pool(value=None, ksize=None, strides=None, padding=None, data_format="NHWC", name=None,
             input=None) -> Tensor:
    """Average pooling; with SAME padding each window averages only its unpadded elements (as TF).

    Examples
    --------
    >>> import dataflow as tf, numpy as np
    >>> x = np.arange(9, dtype=np.float32).reshape(1, 3, 3, 1)
    >>> tf.Session().run(tf.nn.avg_pool(x, [1, 2, 2, 1], [1, 2, 2, 1], "SAME"))[0, :, :, 0]
    array([[2. , 3.5],
           [6.5, 8. ]], dtype=float32)
    """
    return _pool("AvgPool", input if value is None else value, ksize, strides, padding, data_format, name)


def max_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None) -> Tensor:
    """:func:`max_pool` (TF's 2-D name)."""
    return max_pool(input, ksize, strides, padding, data_format, name)


def avg_pool2d(input, ksize, strides, padding, data_format="NHWC", name=None) -> Tensor:
    """:func:`avg_pool` (TF's 2-D name)."""
    return avg_pool(input, ksize, strides, padding, data_format, name)


def lrn(input, depth_radius=5, bias=1.0, alpha=1.0, beta=0.5, name=None) -> Tensor:
    """Local response normalization over the last (channel) axis of a 4-D NHWC tensor::

        sqr_sum[..., d] = sum(input[..., d - depth_radius : d + depth_radius + 1] ** 2)
        output = input / (bias + alpha * sqr_sum) ** beta

    Examples
    --------
    >>> import dataflow as tf, numpy as np
    >>> x = np.ones((1, 1, 1, 3), np.float32)
    >>> tf.Session().run(tf.nn.lrn(x, depth_radius=1, bias=0.0, alpha=1.0, beta=1.0))[0, 0, 0]
    array([0.5       , 0.33333334, 0.5       ], dtype=float32)
    """
    from .array import reshape
    from .linalg import matmul
    from .math import pow, square

    x = convert_to_tensor(input)
    if not x.dtype.is_floating:
        raise TypeError(f"lrn supports floating point inputs only, got {x.dtype.name}")
    c = dims4(x.shape, "input")[3]
    if c is None:
        raise ValueError("lrn needs the channel dimension of its input to be known statically")
    # NOTE: the windowed sum of squares is one matmul with a 0/1 band matrix: a BLAS call instead of
    # 2 * depth_radius + 1 shifted adds, and its gradient is the same matmul transposed.
    band = (np.abs(np.arange(c)[:, None] - np.arange(c)[None, :]) <= int(depth_radius))
    with name_scope(name, "LRN", [x]):
        sqr_sum = matmul(reshape(square(x), [-1, c]), band.astype(x.dtype.as_numpy_dtype))
        sqr_sum = reshape(sqr_sum, shape_of(x))
        return x * pow(bias + alpha * sqr_sum, -float(beta))


local_response_normalization = lrn
