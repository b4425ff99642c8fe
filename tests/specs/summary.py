"""Summary ops: each output (a serialized ``Summary``) against one built here, independently, with
TensorBoard's protos: histogram buckets by a plain loop over TF's limits (``upper_bound``), image scaling
pixel by pixel, WAVs by Python's ``wave`` module. The PNG encoder is shared (``encode_png``), and checked
on its own in test_summary.py by decoding with Pillow."""

import bisect
import io
import math
import sys
import wave

import numpy as np

import dataflow as tf
from dataflow.ops.summary_ops import encode_png
from opspec import OpSpec


def _pb():
    from tensorboard.compat.proto import summary_pb2

    return summary_pb2


def _blob(summary):
    out = np.empty((), dtype=object)
    out[()] = summary.SerializeToString()
    return out


def _scalars(tags):
    def ref(x):
        s = _pb().Summary()
        for t, v in zip(tags, np.ravel(x)):
            s.value.add(tag=t, simple_value=float(v))
        return _blob(s)
    return ref


def _limits():
    pos, v = [], 1e-12
    while v < 1e20:
        pos.append(v)
        v *= 1.1
    pos.append(sys.float_info.max)
    return [-p for p in reversed(pos)] + [0.0] + pos


def _histo_ref(tag):
    def ref(x):
        x = [float(v) for v in np.ravel(x).astype(np.float64)]
        limits = _limits()
        counts = [0.0] * len(limits)
        total = squares = 0.0
        for v in x:
            counts[min(bisect.bisect_right(limits, v), len(limits) - 1)] += 1
            total += v
            squares += v * v
        h = _pb().HistogramProto(min=min(x), max=max(x), num=len(x), sum=total, sum_squares=squares)
        i = 0
        while i < len(limits):
            end, count = limits[i], counts[i]
            i += 1
            if count <= 0:
                while i < len(limits) and counts[i] <= 0:
                    end, count = limits[i], counts[i]
                    i += 1
            h.bucket_limit.append(end)
            h.bucket.append(count)
        s = _pb().Summary()
        s.value.add(tag=tag, histo=h)
        return _blob(s)
    return ref


def _image_ref(tag, max_images):
    def ref(x):
        s = _pb().Summary()
        for i in range(min(max_images, x.shape[0])):
            img = x[i]
            if img.dtype != np.uint8:
                pixels = img.reshape(-1, img.shape[-1])
                good = [p for p in pixels if all(math.isfinite(c) for c in p)]
                lo = min(min(p) for p in good)
                hi = max(max(p) for p in good)
                if lo < 0:
                    scale, offset = np.float32(127.0) / np.float32(max(abs(lo), abs(hi))), 128.0
                else:
                    scale, offset = np.float32(255.0) / np.float32(hi), 0.0
                ct = np.float64 if img.dtype == np.float64 else np.float32  # TF computes in the input's type
                out = [[int(ct(c) * ct(scale) + ct(offset)) for c in p]
                       if all(math.isfinite(c) for c in p) else [255, 0, 0, 255][:len(p)] for p in pixels]
                img = np.array(out, np.uint8).reshape(img.shape)
            s.value.add(tag=f"{tag}/image/{i}" if max_images > 1 else f"{tag}/image",
                        image=_pb().Summary.Image(height=img.shape[0], width=img.shape[1],
                                                  colorspace=img.shape[2], encoded_image_string=encode_png(img)))
        return _blob(s)
    return ref


def _wav(samples, rate):
    buf = io.BytesIO()
    with wave.open(buf, "wb") as w:
        w.setnchannels(samples.shape[1])
        w.setsampwidth(2)
        w.setframerate(rate)
        ints = [max(-32768, min(32767, int(math.copysign(math.floor(abs(v) * 32768.0 + 0.5), v))))
                for v in samples.ravel().astype(np.float64)]
        w.writeframes(np.array(ints, "<i2").tobytes())
    return buf.getvalue()


def _audio_ref(x):
    s = _pb().Summary()
    for i in range(2):
        clip = x[i].reshape(x.shape[1], -1)
        s.value.add(tag=f"snd/audio/{i}", audio=_pb().Summary.Audio(
            sample_rate=8000.0, num_channels=clip.shape[1], length_frames=clip.shape[0],
            encoded_audio_string=_wav(clip, 8000), content_type="audio/wav"))
    return _blob(s)


def _tensor_ref(x):
    from tensorboard.util import tensor_util

    s = _pb().Summary()
    s.value.add(tag="t", metadata=_pb().SummaryMetadata(), tensor=tensor_util.make_tensor_proto(x))
    return _blob(s)


def _merge_ref(x):
    a = _pb().Summary.FromString(_scalars(["a", "b", "c"])(x).item())
    b = _pb().Summary.FromString(_histo_ref("h")(x).item())
    a.value.extend(b.value)
    return _blob(a)


def _image_inputs(dtype, shape, nan=False):
    def gen(rng):
        x = rng.uniform(-2, 3, shape)
        if nan:
            x[0, 1, 1, :] = np.nan
        return [x.astype(dtype) if dtype != np.uint8 else rng.integers(0, 256, shape).astype(np.uint8)]
    return gen


SPECS = [
    OpSpec("scalar_summary", lambda x: tf.summary.scalar("s", x), _scalars(["s"]),
           lambda rng: [np.float32(rng.standard_normal())], grad=False),
    OpSpec("scalar_summary_tags", lambda x: tf.scalar_summary(["a", "b", "c"], x), _scalars(["a", "b", "c"]),
           lambda rng: [rng.standard_normal(3).astype(np.float64)], grad=False),
    OpSpec("histogram_summary", lambda x: tf.summary.histogram("h", x), _histo_ref("h"),
           lambda rng: [(rng.standard_normal((7, 9)) * 10 ** rng.uniform(-8, 8, (7, 9))).astype(np.float32)],
           grad=False),
    OpSpec("image_summary_float", lambda x: tf.summary.image("im", x, max_outputs=2), _image_ref("im", 2),
           _image_inputs(np.float32, (3, 5, 4, 3), nan=True), grad=False),
    OpSpec("image_summary_positive_one", lambda x: tf.summary.image("im", tf.abs(x), max_outputs=1),
           lambda x: _image_ref("im", 1)(np.abs(x)), _image_inputs(np.float64, (2, 3, 3, 1)), grad=False),
    OpSpec("image_summary_uint8", lambda x: tf.summary.image("im", x), _image_ref("im", 3),
           _image_inputs(np.uint8, (2, 4, 4, 4)), grad=False),
    OpSpec("audio_summary", lambda x: tf.summary.audio("snd", x, 8000, max_outputs=2), _audio_ref,
           lambda rng: [rng.uniform(-1.2, 1.2, (3, 50, 2)).astype(np.float32)], grad=False),
    OpSpec("tensor_summary", lambda x: tf.summary.tensor_summary("t", x), _tensor_ref,
           lambda rng: [rng.standard_normal((2, 3)).astype(np.float32)], grad=False),
    OpSpec("merge_summary", lambda x: tf.summary.merge([tf.scalar_summary(["a", "b", "c"], x),
                                                        tf.summary.histogram("h", x)]), _merge_ref,
           lambda rng: [rng.standard_normal(3).astype(np.float32)], grad=False),
]
