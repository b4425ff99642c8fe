"""OpenCL kernels of the depthwise convolution (NHWC) and its two gradients: gather + batched GEMM.

As Conv2D's (``kernels.py``), the patches come from one gather through the patch map of ``movement.py``,
here laid out channel-major, ``[C, N*Ho*Wo, kh*kw]``, so each channel is one batch of a GEMM against its
own ``[kh*kw, M]`` filter slice: the forward pass is ``patches @ filter``, the filter's gradient
``patches^T @ dy`` and the input's ``dy @ filter^T`` added back through the map's CSR inverse
(``movement.gather_sum``, no atomics).
"""

from __future__ import annotations

import numpy as np

from . import movement as mv
from . import vocab
from .kernels import _host, conv_kernel


def _channel_patches(dev, cache, shape, kh, kw, op, want_inverse=False):
    """(device map, (C, P, K), (n, ho, wo), inverse or None) of the channel-major patches of ``shape``."""
    key = (tuple(shape), kh, kw, want_inverse)

    def make():
        m, (n, ho, wo, c) = mv.patch_map(tuple(shape), kh, kw, op.attrs["strides"],
                                         op.attrs.get("dilations", (1, 1, 1, 1)), op.attrs["padding"])
        m = np.ascontiguousarray(m.transpose(5, 0, 1, 2, 3, 4))  # [C, N, Ho, Wo, kh, kw]
        inv = mv.inverse(dev, m, int(np.prod(shape))) if want_inverse else None
        return mv.upload_map(dev, m), (c, n * ho * wo, kh * kw), (n, ho, wo), inv
    return cache.get(key, make)


def _filter_cm(dev, f):
    """The filter ``[kh, kw, C, M]`` as ``[C, kh*kw, M]``."""
    kh, kw, c, mult = f.shape
    return vocab.transpose(dev, f.reshape(kh * kw, c, mult), [1, 0, 2])


def _dy_cm(dev, dy, c):
    """``dy`` ``[N, Ho, Wo, C*M]`` as ``[C, N*Ho*Wo, M]``."""
    n, ho, wo, cm = dy.shape
    return vocab.transpose(dev, dy.reshape(n * ho * wo, c, cm // c), [1, 0, 2])


@conv_kernel("DepthwiseConv2dNative")
def _depthwise(dev, op, cache):
    def run(x, f):
        x, f = dev.operand(x), dev.operand(f)
        kh, kw, c, mult = f.shape
        m, cpk, (n, ho, wo), _ = _channel_patches(dev, cache, x.shape, kh, kw, op)
        y = vocab.matmul(dev, mv.gather(dev, [x], m, cpk), _filter_cm(dev, f))  # [C, P, M]
        return vocab.transpose(dev, y, [1, 0, 2]).reshape(n, ho, wo, c * mult)
    return run


@conv_kernel("DepthwiseConv2dNativeBackpropFilter")
def _depthwise_filter(dev, op, cache):
    def run(x, sizes, dy):
        x, dy = dev.operand(x), dev.operand(dy)
        kh, kw, c, mult = (int(d) for d in _host(sizes))
        m, cpk, _, _ = _channel_patches(dev, cache, x.shape, kh, kw, op)
        df = vocab.matmul(dev, mv.gather(dev, [x], m, cpk), _dy_cm(dev, dy, c), transpose_a=True)  # [C, K, M]
        return vocab.transpose(dev, df, [1, 0, 2]).reshape(kh, kw, c, mult)
    return run


@conv_kernel("DepthwiseConv2dNativeBackpropInput")
def _depthwise_input(dev, op, cache):
    def run(sizes, f, dy):
        f, dy = dev.operand(f), dev.operand(dy)
        shape = tuple(int(d) for d in _host(sizes))
        kh, kw, c, _ = f.shape
        _, _, _, (order, starts) = _channel_patches(dev, cache, shape, kh, kw, op, want_inverse=True)
        cols = vocab.matmul(dev, _dy_cm(dev, dy, c), _filter_cm(dev, f), transpose_b=True)  # [C, P, K]
        return mv.gather_sum(dev, cols, order, starts, shape)
    return run
