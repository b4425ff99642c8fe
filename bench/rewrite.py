"""Graph rewrites on and off: a layer-norm + GELU block, elementwise-heavy, on a [rows, cols] float32 input.

Run: python bench/rewrite.py [--rows 4096] [--cols 1024] [--rounds 7]
Prints milliseconds per run and the peak memory NumPy allocated during one run (tracemalloc traces
NumPy's array allocations) with the default rewrites (CSE, folding, arithmetic, fusion into
FusedElementwise, buffer reuse) and with ``RewriterConfig(disable_meta_optimizer=True)``, and the ratios.
"""

from __future__ import annotations

import argparse
import math
import time
import tracemalloc

import numpy as np

import dataflow as tf


def build(rows: int, cols: int):
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [rows, cols], name="x")
        rng = np.random.default_rng(0)
        gamma = tf.constant(rng.uniform(0.5, 1.5, cols).astype(np.float32), name="gamma")
        beta = tf.constant(rng.uniform(-0.1, 0.1, cols).astype(np.float32), name="beta")
        with tf.name_scope("layer_norm"):
            mean = tf.reduce_mean(x, axis=-1, keepdims=True)
            d = x - mean
            var = tf.reduce_mean(tf.square(d), axis=-1, keepdims=True)
            y = d * tf.rsqrt(var + 1e-5) * gamma + beta
        with tf.name_scope("gelu"):  # the tanh form (BERT's)
            inner = math.sqrt(2 / math.pi) * (y + 0.044715 * (y * y * y))
            out = 0.5 * y * (1.0 + tf.tanh(inner))
    return g, x, out


def session(g, rewrites: bool):
    rc = tf.RewriterConfig() if rewrites else tf.RewriterConfig(disable_meta_optimizer=True)
    return tf.Session(graph=g, config=tf.ConfigProto(graph_options=tf.GraphOptions(rewrite_options=rc)))


def peak_bytes(sess, out, feed) -> int:
    """Peak bytes NumPy allocated during one run (the fed input is allocated before)."""
    sess.run(out, feed)  # plan first
    tracemalloc.start()
    tracemalloc.reset_peak()
    base = tracemalloc.get_traced_memory()[0]
    result = sess.run(out, feed)
    peak = tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()
    del result
    return peak


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rows", type=int, default=4096)
    parser.add_argument("--cols", type=int, default=1024)
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--runs", type=int, default=5, help="runs per timed block")
    parser.add_argument("--no-tf", action="store_true", help="accepted for the smoke test (TF is not run here)")
    args = parser.parse_args()
    g, x, out = build(args.rows, args.cols)
    feed = {x: np.random.default_rng(1).standard_normal((args.rows, args.cols)).astype(np.float32)}
    sessions = {"on": session(g, True), "off": session(g, False)}
    results = {k: s.run(out, feed) for k, s in sessions.items()}
    err = float(np.max(np.abs(results["on"] - results["off"])))
    best = {k: float("inf") for k in sessions}
    ratios = []
    for r in range(args.rounds):  # interleaved blocks, order alternating: the machine is shared
        times = {}
        for k in (("on", "off") if r % 2 == 0 else ("off", "on")):
            t0 = time.perf_counter()
            for _ in range(args.runs):
                sessions[k].run(out, feed)
            times[k] = (time.perf_counter() - t0) / args.runs
            best[k] = min(best[k], times[k])
        ratios.append(times["off"] / times["on"])
    peaks = {k: peak_bytes(s, out, feed) for k, s in sessions.items()}
    mib = 1 << 20
    print(f"layer norm + GELU on [{args.rows}, {args.cols}] float32; max |on - off| = {err:.2e}")
    for k in ("on", "off"):
        print(f"rewrites {k:3}: {best[k] * 1e3:8.2f} ms per run (best block), peak {peaks[k] / mib:8.1f} MiB")
    print(f"speedup on/off = {float(np.median(ratios)):.2f}x (median of {args.rounds} rounds; best blocks "
          f"{best['off'] / best['on']:.2f}x), peak memory on/off = {peaks['on'] / max(peaks['off'], 1):.2f}x")


if __name__ == "__main__":
    main()
