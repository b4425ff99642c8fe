"""Summary ops: each turns tensors into a serialized ``Summary`` protobuf (a scalar string tensor), as TF.

The primitives are TensorFlow's, with its inputs and attrs:

* ``ScalarSummary(tags, values)``: one ``simple_value`` per tag (tags and values of one shape).
* ``HistogramSummary(tag, values)``: a ``HistogramProto`` over TF's default buckets (limits growing by
  10% from 1e-12 to 1e20, mirrored for negatives, around 0 and ending at +-DBL_MAX); a value counts in
  the first bucket whose limit is greater than it (``std::upper_bound``), and runs of empty buckets
  are collapsed into one, as ``tensorflow/core/lib/histogram/histogram.cc`` encodes them.
* ``ImageSummary(tag, tensor; max_images, bad_color)``: PNGs of up to ``max_images`` images of a
  ``[batch, h, w, 1|3|4]`` tensor; float images are scaled per image (``255/max`` when none is negative,
  else ``127/max|v|`` around 128, truncated to uint8; non-finite pixels get ``bad_color``).
* ``AudioSummaryV2(tag, tensor, sample_rate; max_outputs)``: 16-bit PCM WAVs of ``[batch, frames(,
  channels)]`` floats in [-1, 1].
* ``TensorSummaryV2(tag, tensor, serialized_summary_metadata)``: the tensor as a ``TensorProto``.
* ``MergeSummary(inputs...)``: the values of several summaries in one (a repeated tag is an error).

The Python builders (``tf.summary.scalar`` ... in :mod:`dataflow.summary`) open a name scope per
summary, so a tag is the scoped name (``train/loss``, ``train/loss_1`` for a second one), and add the
op to the ``SUMMARIES`` collection. The protobuf classes are TensorBoard's, imported on first use.
"""

from __future__ import annotations

import functools
import struct
import sys
import zlib

import numpy as np

from ..framework import dtypes, errors
from ..framework.graph import GraphKeys, convert_to_tensor, get_default_graph, make_op, name_scope
from ..framework.registry import OpDef, register
from ..framework.tensor_shape import TensorShape

__all__ = ["audio", "encode_png", "encode_wav", "histogram", "histogram_proto", "image", "merge", "merge_all",
           "scalar", "tensor_summary", "text"]

DBL_MAX = sys.float_info.max


def _pb():
    try:
        from tensorboard.compat.proto import summary_pb2
    except ImportError as e:
        raise ImportError(f"Summaries need the tensorboard package: pip install tensorboard ({e})") from None
    return summary_pb2


def _host(a) -> np.ndarray:
    return np.asarray(a.get() if hasattr(a, "get") and not isinstance(a, np.ndarray) else a)


def _text(value) -> str:
    value = value.item() if isinstance(value, np.ndarray) else value
    return value.decode() if isinstance(value, bytes) else str(value)


def _shape_str(shape) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]"


def _out(summary) -> np.ndarray:
    out = np.empty((), dtype=object)
    out[()] = summary.SerializeToString()
    return out


def _scalar_tag(tag, op_type) -> str:
    tag = _host(tag)
    if tag.size != 1:
        raise errors.InvalidArgumentError(None, None, f"{op_type}: tags must be a scalar, got {_shape_str(tag.shape)}")
    return _text(tag.reshape(()))


def _string_scalar(op):
    return [(dtypes.string, TensorShape([]))]


# ---- scalar -----------------------------------------------------------------------------------
def _scalar_kernel(xp, tags, values):
    tags, values = _host(tags), _host(values)
    if tags.shape != values.shape:
        raise errors.InvalidArgumentError(None, None, f"tags and values not the same shape: "
                                                      f"{_shape_str(tags.shape)} != {_shape_str(values.shape)}")
    summary = _pb().Summary()
    for t, v in zip(tags.ravel(), values.ravel()):
        summary.value.add(tag=_text(t), simple_value=float(v))
    return _out(summary)


register(OpDef("ScalarSummary", _string_scalar, _scalar_kernel, differentiable=False))


# ---- histogram --------------------------------------------------------------------------------
@functools.lru_cache(maxsize=None)
def default_bucket_limits() -> np.ndarray:
    """TensorFlow's default histogram bucket limits (``InitDefaultBucketsInner``)."""
    positive, v = [], 1.0e-12
    while v < 1.0e20:
        positive.append(v)
        v *= 1.1
    positive.append(DBL_MAX)
    return np.array([-p for p in reversed(positive)] + [0.0] + positive)


def histogram_proto(values):
    """The ``HistogramProto`` of ``values`` (finite), encoded as TensorFlow's ``Histogram::EncodeToProto``."""
    x = np.asarray(values, dtype=np.float64).ravel()
    limits = default_bucket_limits()
    counts = np.bincount(np.minimum(np.searchsorted(limits, x, side="right"), len(limits) - 1),
                         minlength=len(limits)).astype(np.float64)
    proto = _pb().HistogramProto(min=float(x.min()) if x.size else DBL_MAX,
                                 max=float(x.max()) if x.size else -DBL_MAX, num=float(x.size),
                                 sum=float(np.cumsum(x)[-1]) if x.size else 0.0,  # sequential, as TF adds
                                 sum_squares=float(np.cumsum(x * x)[-1]) if x.size else 0.0)
    nonzero = np.flatnonzero(counts > 0)
    # a bucket with values is kept; each run of empty buckets becomes its last bucket
    keep = np.union1d(nonzero, np.flatnonzero(np.diff(counts > 0, append=True)))
    proto.bucket_limit.extend(limits[keep].tolist())
    proto.bucket.extend(counts[keep].tolist())
    return proto


def _histogram_kernel(xp, tag, values):
    tag, x = _scalar_tag(tag, "HistogramSummary"), _host(values).astype(np.float64)
    if not np.isfinite(x).all():
        raise errors.InvalidArgumentError(None, None, f"Nan in summary histogram for: {tag}")
    summary = _pb().Summary()
    summary.value.add(tag=tag, histo=histogram_proto(x))
    return _out(summary)


register(OpDef("HistogramSummary", _string_scalar, _histogram_kernel, differentiable=False))


# ---- images -----------------------------------------------------------------------------------
def encode_png(pixels: np.ndarray) -> bytes:
    """An 8-bit PNG of ``pixels`` (``[h, w, c]`` uint8, c = 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA)."""
    h, w, c = pixels.shape
    rows = np.concatenate([np.zeros((h, 1), np.uint8), pixels.reshape(h, w * c)], axis=1)  # filter 0 per row

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", w, h, 8, {1: 0, 2: 4, 3: 2, 4: 6}[c], 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(rows.tobytes()))
            + chunk(b"IEND", b""))


def normalize_image(values: np.ndarray, bad_color) -> np.ndarray:
    """A float image ``[h, w, c]`` as uint8, scaled as TensorFlow's ``NormalizeFloatImage``."""
    compute = np.float64 if values.dtype == np.float64 else np.float32
    flat = values.reshape(-1, values.shape[-1]).astype(compute)
    finite = np.isfinite(flat).all(axis=1)
    good = flat[finite].astype(np.float32)
    lo = good.min() if good.size else np.float32(np.inf)
    hi = good.max() if good.size else np.float32(-np.inf)
    if lo < 0:
        max_val = max(abs(lo), abs(hi))
        scale, offset = np.float32(0.0 if max_val < 1e-6 else np.float32(127.0) / max_val), 128.0
    else:
        scale, offset = np.float32(0.0 if hi < 1e-6 else np.float32(255.0) / hi), 0.0
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = np.clip(np.trunc(flat * compute(scale) + compute(offset)), 0, 255)
    out = np.where(finite[:, None], scaled, 0).astype(np.uint8)
    out[~finite] = np.asarray(bad_color, np.uint8)[:flat.shape[1]]
    return out.reshape(values.shape)


def _image_kernel(xp, tag, tensor, *, max_images, bad_color):
    tag, t = _scalar_tag(tag, "ImageSummary"), _host(tensor)
    if t.ndim != 4 or t.shape[3] not in (1, 3, 4):
        raise errors.InvalidArgumentError(None, None, f"Tensor must be 4-D with last dim 1, 3, or 4, not "
                                                      f"{_shape_str(t.shape)}")
    summary = _pb().Summary()
    for i in range(min(max_images, t.shape[0])):
        pixels = t[i] if t.dtype == np.uint8 else normalize_image(t[i], bad_color)
        image = _pb().Summary.Image(height=t.shape[1], width=t.shape[2], colorspace=t.shape[3],
                                    encoded_image_string=encode_png(pixels))
        summary.value.add(tag=f"{tag}/image/{i}" if max_images > 1 else f"{tag}/image", image=image)
    return _out(summary)


register(OpDef("ImageSummary", _string_scalar, _image_kernel, differentiable=False))


# ---- audio ------------------------------------------------------------------------------------
def encode_wav(samples: np.ndarray, sample_rate: int) -> bytes:
    """A 16-bit PCM WAV of float ``samples`` ``[frames, channels]`` in [-1, 1] (TF's ``wav_io``)."""
    frames, channels = samples.shape
    scaled = samples.astype(np.float32) * np.float32(32768.0)
    pcm = np.clip(np.sign(scaled) * np.floor(np.abs(scaled) + 0.5), -32768, 32767).astype("<i2")  # roundf
    data = pcm.tobytes()
    fmt = struct.pack("<HHIIHH", 1, channels, sample_rate, sample_rate * channels * 2, channels * 2, 16)
    return (b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE" + b"fmt " + struct.pack("<I", 16) + fmt
            + b"data" + struct.pack("<I", len(data)) + data)


def _audio_kernel(xp, tag, tensor, sample_rate, *, max_outputs):
    tag, t, rate = _scalar_tag(tag, "AudioSummaryV2"), _host(tensor), float(_host(sample_rate))
    if t.ndim == 2:
        t = t[:, :, None]
    if t.ndim != 3:
        raise errors.InvalidArgumentError(None, None, f"Tensor must be 3-D or 2-D, got: {_shape_str(t.shape)}")
    if rate <= 0:
        raise errors.InvalidArgumentError(None, None, "sample_rate must be > 0")
    summary = _pb().Summary()
    for i in range(min(max_outputs, t.shape[0])):
        audio = _pb().Summary.Audio(sample_rate=rate, num_channels=t.shape[2], length_frames=t.shape[1],
                                    encoded_audio_string=encode_wav(t[i], int(rate)), content_type="audio/wav")
        summary.value.add(tag=f"{tag}/audio/{i}" if max_outputs > 1 else f"{tag}/audio", audio=audio)
    return _out(summary)


register(OpDef("AudioSummaryV2", _string_scalar, _audio_kernel, differentiable=False))


# ---- tensors and merging ----------------------------------------------------------------------
def _tensor_kernel(xp, tag, tensor, serialized_summary_metadata):
    from tensorboard.util import tensor_util

    t = _host(tensor)
    if t.dtype == object:
        t = np.vectorize(lambda s: s if isinstance(s, bytes) else str(s).encode(), otypes=[object])(t)
    summary = _pb().Summary()
    meta = _pb().SummaryMetadata.FromString(_host(serialized_summary_metadata).item())
    summary.value.add(tag=_scalar_tag(tag, "TensorSummaryV2"), metadata=meta,
                      tensor=tensor_util.make_tensor_proto(t))
    return _out(summary)


register(OpDef("TensorSummaryV2", _string_scalar, _tensor_kernel, differentiable=False))


def _merge_kernel(xp, *inputs):
    merged, seen = _pb().Summary(), set()
    for x in inputs:
        for blob in _host(x).ravel():
            try:
                part = _pb().Summary.FromString(blob if isinstance(blob, bytes) else str(blob).encode())
            except Exception:  # noqa: BLE001 (protobuf's DecodeError)
                raise errors.InvalidArgumentError(None, None, "Could not parse one of the summary inputs") from None
            for value in part.value:
                if value.tag in seen:
                    raise errors.InvalidArgumentError(None, None, f"Duplicate tag {value.tag} found in summary "
                                                                  f"inputs")
                seen.add(value.tag)
                merged.value.add().CopyFrom(value)
    return _out(merged)


register(OpDef("MergeSummary", _string_scalar, _merge_kernel, differentiable=False))


# ---- the tf.summary builders --------------------------------------------------------------------
def _clean_tag(name):
    if name is None:
        return None
    import re

    cleaned = re.sub(r"[^-/\w\.]", "_", name).lstrip("/")
    return cleaned


def _summary(op_type, name, family, inputs, attrs, collections):
    """Build ``op_type`` in TF's summary scope: the tag is the scope (``family/`` first if given)."""
    name, family = _clean_tag(name), _clean_tag(family)
    base = name if family is None else f"{family}/{name}"
    with name_scope(base, None, [t for t in inputs if hasattr(t, "graph")]) as scope:
        tag = scope.rstrip("/") if family is None else f"{family}/{scope.rstrip('/')}"
        tensors = [convert_to_tensor(tag, name="tag")] + [convert_to_tensor(t) for t in inputs]
        out = make_op(op_type, tensors, attrs, scope).outputs[0]
    _collect(out, collections)
    return out


def _collect(summary, collections, default=(GraphKeys.SUMMARIES,)):
    for key in (default if collections is None else collections):
        get_default_graph().add_to_collection(key, summary)


def scalar(name, tensor, collections=None, family=None):
    """``tf.summary.scalar``: a ``Summary`` with one scalar value tagged with the scoped ``name``."""
    return _summary("ScalarSummary", name, family, [tensor], {}, collections)


def histogram(name, values, collections=None, family=None):
    """``tf.summary.histogram``: a histogram of ``values`` over TensorFlow's default buckets."""
    return _summary("HistogramSummary", name, family, [values], {}, collections)


def image(name, tensor, max_outputs=3, collections=None, family=None):
    """``tf.summary.image``: PNGs of up to ``max_outputs`` images of ``[batch, h, w, 1|3|4]``."""
    return _summary("ImageSummary", name, family, [tensor], {"max_images": int(max_outputs),
                                                             "bad_color": (255, 0, 0, 255)}, collections)


def audio(name, tensor, sample_rate, max_outputs=3, collections=None, family=None):
    """``tf.summary.audio``: WAVs of up to ``max_outputs`` clips of ``[batch, frames(, channels)]``."""
    rate = convert_to_tensor(sample_rate, dtype=dtypes.float32)
    return _summary("AudioSummaryV2", name, family, [tensor, rate], {"max_outputs": int(max_outputs)},
                    collections)


def tensor_summary(name, tensor, summary_description=None, collections=None, summary_metadata=None, family=None,
                   display_name=None):
    """``tf.summary.tensor_summary``: the whole tensor, with ``summary_metadata``."""
    meta = _pb().SummaryMetadata() if summary_metadata is None else summary_metadata
    if summary_description is not None:
        meta.summary_description = summary_description
    if display_name is not None:
        meta.display_name = display_name
    blob = np.empty((), dtype=object)
    blob[()] = meta.SerializeToString()
    return _summary("TensorSummaryV2", name, family, [tensor, blob], {}, collections)


def text(name, tensor, collections=None):
    """``tf.summary.text``: a string tensor shown by TensorBoard's text plugin."""
    tensor = convert_to_tensor(tensor)
    if tensor.dtype is not dtypes.string:
        raise ValueError(f"Expected tensor {tensor.name} to have dtype string, got {tensor.dtype.name}")
    meta = _pb().SummaryMetadata(plugin_data=_pb().SummaryMetadata.PluginData(plugin_name="text"))
    return tensor_summary(name, tensor, summary_metadata=meta, collections=collections)


def merge(inputs, collections=None, name=None):
    """``tf.summary.merge``: one ``Summary`` with the values of every input summary."""
    inputs = [convert_to_tensor(x) for x in inputs]
    with name_scope(name, "Merge", inputs):
        out = make_op("MergeSummary", inputs, {}, "MergeSummary").outputs[0]
    _collect(out, collections, default=())
    return out


def merge_all(key=GraphKeys.SUMMARIES, scope=None, name=None):
    """``tf.summary.merge_all``: merge every summary of collection ``key``; None when there is none."""
    found = get_default_graph().get_collection(key, scope)
    return merge(found, name=name) if found else None


# ---- TF 0.x names: the tag is given as it is, not scoped ------------------------------------------
def _legacy(op_type, tag, inputs, attrs, collections, name):
    with name_scope(name, op_type, [t for t in inputs if hasattr(t, "graph")]) as scope:
        tensors = [convert_to_tensor(tag, name="tags")] + [convert_to_tensor(t) for t in inputs]
        out = make_op(op_type, tensors, attrs, scope).outputs[0]
    _collect(out, collections)
    return out


def scalar_summary(tags, values, collections=None, name=None):
    """``tf.scalar_summary`` (TF 0.x): scalars tagged ``tags`` (a string, or an array like ``values``)."""
    return _legacy("ScalarSummary", tags, [values], {}, collections, name)


def histogram_summary(tag, values, collections=None, name=None):
    return _legacy("HistogramSummary", tag, [values], {}, collections, name)


def image_summary(tag, tensor, max_images=3, collections=None, name=None):
    return _legacy("ImageSummary", tag, [tensor], {"max_images": int(max_images), "bad_color": (255, 0, 0, 255)},
                   collections, name)


def audio_summary(tag, tensor, sample_rate, max_outputs=3, collections=None, name=None):
    rate = convert_to_tensor(sample_rate, dtype=dtypes.float32)
    return _legacy("AudioSummaryV2", tag, [tensor, rate], {"max_outputs": int(max_outputs)}, collections, name)


def merge_all_summaries(key=GraphKeys.SUMMARIES):
    return merge_all(key)
