"""TensorFlow as the oracle for PNG decoding (and for PNGs dataflow encodes).

1. ``PYTHONPATH=. /work/venv/bin/python tests/golden/png_oracle.py --write`` writes under
   ``tests/golden/png/``: PNGs made by Pillow in the formats TensorFlow cannot write (palette with
   transparency, 1-bit and 4-bit, gray with a transparent color) and PNGs encoded by dataflow.
2. ``/work/tfvenv/bin/python tests/golden/png_oracle.py`` adds PNGs encoded by TensorFlow (libpng's
   adaptive filters: Sub, Up, Average, Paeth rows; 8 and 16 bits; 1-4 channels), then decodes every PNG
   there with ``tf.io.decode_png`` for each ``channels`` and ``dtype`` and saves the arrays in
   ``tests/golden/png_oracle.npz`` (key ``file|channels|dtype``).
"""

import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "png")


def image(shape, dtype=np.uint8, seed=0) -> np.ndarray:
    """A gradient plus noise: smooth enough that encoders pick varied filters."""
    rng = np.random.default_rng(seed)
    h, w, c = shape
    top = np.iinfo(dtype).max
    base = np.add.outer(np.linspace(0, 0.7, h), np.linspace(0, 0.3, w))[..., None] * top
    noise = rng.integers(0, top // 8, (h, w, c))
    return np.clip(base + noise + np.arange(c) * (top // 9), 0, top).astype(dtype)


def write_inputs() -> None:
    from PIL import Image

    import dataflow as tf

    os.makedirs(OUT, exist_ok=True)
    pal = Image.fromarray(image((13, 17, 3), seed=1)).quantize(16)
    pal.save(os.path.join(OUT, "pil_palette4.png"), bits=4)
    pal.info["transparency"] = bytes([0, 128, 255])
    pal.save(os.path.join(OUT, "pil_palette_trns.png"), transparency=bytes([0, 128, 255]))
    bw = Image.fromarray((image((13, 17, 1), seed=2)[..., 0] > 100).astype(np.uint8) * 255).convert("1")
    bw.save(os.path.join(OUT, "pil_gray1.png"))
    gray = Image.fromarray(image((13, 17, 1), seed=3)[..., 0])
    gray.save(os.path.join(OUT, "pil_gray_trns.png"), transparency=int(np.asarray(gray)[0, 0]))
    Image.fromarray(image((13, 17, 3), seed=4)).save(os.path.join(OUT, "pil_rgb_optimized.png"), optimize=True)
    with tf.Session() as sess:
        for c in (1, 2, 3, 4):
            for dt in (np.uint8, np.uint16):
                data = sess.run(tf.image.encode_png(image((9, 11, c), dt, seed=c)))
                with open(os.path.join(OUT, f"dataflow_c{c}_{np.dtype(dt).name}.png"), "wb") as f:
                    f.write(data)


def tensorflow_oracle() -> None:
    import tensorflow as tf

    for c in (1, 2, 3, 4):
        for dt in (np.uint8, np.uint16):
            data = tf.io.encode_png(image((13, 17, c), dt, seed=10 + c)).numpy()
            with open(os.path.join(OUT, f"tf_c{c}_{np.dtype(dt).name}.png"), "wb") as f:
                f.write(data)
    arrays = {}
    for name in sorted(os.listdir(OUT)):
        data = open(os.path.join(OUT, name), "rb").read()
        for channels in (0, 1, 3, 4):
            for dt in (tf.uint8, tf.uint16):
                arrays[f"{name}|{channels}|{dt.name}"] = tf.io.decode_png(data, channels=channels, dtype=dt).numpy()
    np.savez_compressed(os.path.join(HERE, "png_oracle.npz"), **arrays)


if __name__ == "__main__":
    write_inputs() if "--write" in sys.argv else tensorflow_oracle()
