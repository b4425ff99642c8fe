"""Per backend present: SGEMM GFLOP/s, a fused elementwise chain's GB/s, and CNN training steps/s.

* SGEMM: ``C = A @ B`` on float32 ``--size`` x ``--size`` matrices (NumPy: OpenBLAS; OpenCL: the
  backend's tiled GEMM), 2 n^3 flops per product, best of ``--reps``.
* Fused chain: ``relu(a * b + c)`` on ``--n`` float32 elements, as one generated kernel on a device
  (``Backend.compile_fused`` of the FusedElementwise program) and as the NumPy expression on the CPU;
  GB/s counts 3 reads + 1 write of 4 bytes per element.
* CNN step: bench/train_cnn.py's model (two 5x5 convolutions, max pooling, two dense layers, Adam), one
  training step per run, placed on the device with ``tf.device``; steps/s over ``--steps`` steps.

Every figure of a backend is measured after one warm-up (kernel builds). Run:
``python bench/backends.py [--size 1024] [--n 4194304] [--batch 64] [--steps 5] [--reps 5]``
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
# this file is named like the project's ``backends`` package: import that one, not this script
sys.path[:] = [os.path.dirname(HERE)] + [q for q in sys.path if os.path.abspath(q or ".") != HERE]
sys.modules.pop("backends", None)

import backends  # noqa: E402
import dataflow as tf  # noqa: E402

CHAIN = (("Mul", (("in", 0), ("in", 1)), ()), ("Add", (("step", 0), ("in", 2)), ()), ("Relu", (("step", 1),), ()))


def best(fn, reps: int, sync=lambda: None) -> float:
    fn()
    sync()
    times = []
    for _ in range(reps):
        t = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t)
    return min(times)


def sgemm(b, n: int, reps: int) -> float:
    rng = np.random.default_rng(0)
    a, c = (rng.standard_normal((n, n)).astype(np.float32) for _ in range(2))
    if b.name == "CPU":
        t = best(lambda: a @ c, reps)
    elif b.name == "OPENCL":
        from backends.opencl import vocab

        da, dc = b.from_host(a), b.from_host(c)
        t = best(lambda: vocab.matmul(b.dev, da, dc), reps, b.synchronize)
    else:
        da, dc = b.from_host(a), b.from_host(c)
        t = best(lambda: b.xp.matmul(da, dc), reps, b.synchronize)
    return 2 * n ** 3 / t / 1e9


def fused_chain(b, n: int, reps: int) -> float:
    rng = np.random.default_rng(1)
    a, m, c = (rng.standard_normal(n).astype(np.float32) for _ in range(3))
    if b.name == "CPU":
        t = best(lambda: np.maximum(a * m + c, 0), reps)
    else:
        f32 = np.dtype(np.float32)
        fn = b.compile_fused(CHAIN, (2,), (f32, f32, f32), (f32,))
        da, dm, dc = b.from_host(a), b.from_host(m), b.from_host(c)
        t = best(lambda: fn(da, dm, dc), reps, b.synchronize)
    return 16 * n / t / 1e9


def cnn_steps(b, batch: int, steps: int) -> float:
    import importlib.util

    spec = importlib.util.spec_from_file_location("train_cnn", os.path.join(HERE, "train_cnn.py"))
    train_cnn = importlib.util.module_from_spec(spec)
    sys.path.insert(0, HERE)  # train_cnn imports its neighbour interleave.py
    try:
        spec.loader.exec_module(train_cnn)
    finally:
        sys.path.remove(HERE)
    build_step = train_cnn.build_step

    with tf.Graph().as_default(), tf.device(b.device):
        step = build_step(tf, batch)
    step()
    t = time.perf_counter()
    for _ in range(steps):
        step()
    b.synchronize()
    return steps / (time.perf_counter() - t)


def main(argv=None) -> list:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--size", type=int, default=1024)
    p.add_argument("--n", type=int, default=4 * 1024 * 1024)
    p.add_argument("--batch", type=int, default=64)
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--reps", type=int, default=5)
    args = p.parse_args(argv)
    rows = []
    print(f"{'backend':24s} {'SGEMM GFLOP/s':>14s} {'relu(a*b+c) GB/s':>17s} {'CNN steps/s':>12s}")
    for b in backends.available_backends():
        row = (b.device, sgemm(b, args.size, args.reps), fused_chain(b, args.n, args.reps),
               cnn_steps(b, args.batch, args.steps))
        rows.append(row)
        print(f"{row[0]:24s} {row[1]:14.2f} {row[2]:17.2f} {row[3]:12.2f}", flush=True)
    return rows


if __name__ == "__main__":
    main()
