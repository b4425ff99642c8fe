"""Interleaved timing of several implementations of one training step, TensorFlow's in another process.

This machine is shared and its speed drifts by 10-30% over minutes, so implementations timed one
after the other are not comparable. Here every implementation is a ``block(n) -> seconds`` callable
(n steps, timed), and :func:`interleaved_rates` runs their blocks in turn, round after round, keeping
every block's rate: a slow phase of the machine hits all of them alike. Compare implementations by the
median of their per-round ratios (:meth:`Rates.median_ratio`); the best blocks are reported too.

TensorFlow runs in its own interpreter (``--tf-python``), which the project never imports:
:class:`RemoteBlocks` starts that interpreter once on a benchmark script's worker mode, which builds
the model and then serves ``run N`` requests over stdin/stdout (:func:`serve`), so its blocks
interleave with the local ones and its start-up is never timed.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time


def local_blocks(step):
    """``block(n)``: n calls of ``step(i)`` (i counting on across blocks), timed."""
    count = [0]

    def block(n: int) -> float:
        i0 = count[0]
        t0 = time.perf_counter()
        for i in range(i0, i0 + n):
            step(i)
        count[0] = i0 + n
        return time.perf_counter() - t0

    return block


# between two implementations' blocks: BLAS and thread-pool workers spin for a while after their last
# task (OpenBLAS ~0.1 s, Eigen's pool less), which would slow the next block on the other cores
PAUSE_S = 0.3


class Rates:
    """Every round's steps/s of each implementation (:func:`interleaved_rates`)."""

    def __init__(self, per_round: dict):
        self.per_round = per_round  # name -> [steps/s of each round's block]

    def best(self, name: str) -> float:
        """The best block's steps/s (the machine's calmest moment for that implementation)."""
        return max(self.per_round[name])

    def median_ratio(self, a: str, b: str) -> float:
        """The median over rounds of ``a``'s rate over ``b``'s in the same round: blocks of one round run
        seconds apart, so a drift of the machine's speed hits both alike, and one lucky block cannot
        move the median (unlike a ratio of two bests)."""
        ratios = sorted(x / y for x, y in zip(self.per_round[a], self.per_round[b]))
        n = len(ratios)
        return ratios[n // 2] if n % 2 else (ratios[n // 2 - 1] + ratios[n // 2]) / 2


def interleaved_rates(blocks: dict, steps: int, rounds: int, warmup: int = 1) -> Rates:
    """Runs ``rounds`` rounds of one ``steps``-step block of each implementation; the order reverses
    every other round, so that no implementation always follows the same one."""
    for block in blocks.values():
        for _ in range(warmup):
            block(max(1, steps // 4))
    per_round = {name: [] for name in blocks}
    names = list(blocks)
    for r in range(rounds):
        for name in names if r % 2 == 0 else reversed(names):
            time.sleep(PAUSE_S)
            per_round[name].append(steps / blocks[name](steps))
    return Rates(per_round)


def blas_note() -> str:
    """Which BLAS NumPy runs and with which kernels (threadpoolctl, when installed), and the OpenBLAS
    variables that choose them: figures are only comparable with the same kernels."""
    env = ", ".join(f"{k}={os.environ[k]}" for k in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE") if k in os.environ)
    try:
        import numpy  # noqa: F401  (loads the BLAS threadpoolctl reports)
        from threadpoolctl import threadpool_info
    except ImportError:
        kernels = "BLAS kernels unknown (no threadpoolctl)"
    else:
        blas = [i for i in threadpool_info() if i.get("user_api") == "blas"]
        kernels = "; ".join(f"{i.get('internal_api')} {i.get('version')} {i.get('architecture')} kernels, "
                            f"{i.get('num_threads')} threads" for i in blas) or "no BLAS found"
    return f"NumPy's BLAS: {kernels} ({env or 'OPENBLAS_CORETYPE/OPENBLAS_L2_SIZE unset'})"


def serve(step, info: dict) -> None:
    """The worker side: answer ``run N`` with the seconds N steps took, ``info`` with ``info`` as JSON."""
    block = local_blocks(step)
    print("ready", flush=True)
    for line in sys.stdin:
        cmd = line.split()
        if not cmd or cmd[0] == "quit":
            break
        if cmd[0] == "run":
            print(repr(block(int(cmd[1]))), flush=True)
        elif cmd[0] == "info":
            print(json.dumps({k: (v() if callable(v) else v) for k, v in info.items()}), flush=True)


class RemoteBlocks:
    """``block(n)`` served by ``python script --tf-worker ...`` (see :func:`serve`)."""

    def __init__(self, python: str, script: str, args: list, timeout: float = 600):
        env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3", CUDA_VISIBLE_DEVICES="")
        self.proc = subprocess.Popen([python, os.path.abspath(script), "--tf-worker", *args],
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True, env=env)
        self.timeout = timeout
        line = self.proc.stdout.readline().strip()
        if line != "ready":
            err = self.proc.stderr.read()[-2000:] if self.proc.poll() is not None else ""
            self.close()
            raise RuntimeError(f"TensorFlow worker did not start: {line!r} {err}")

    def _ask(self, command: str) -> str:
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()
        line = self.proc.stdout.readline()
        if not line:
            raise RuntimeError("TensorFlow worker died: " + self.proc.stderr.read()[-2000:])
        return line.strip()

    def __call__(self, n: int) -> float:
        return float(self._ask(f"run {n}"))

    def info(self) -> dict:
        return json.loads(self._ask("info"))

    def close(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write("quit\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=30)
            except (OSError, subprocess.TimeoutExpired):
                self.proc.kill()


def tf_compat_v1():
    """The worker side: ``(tensorflow.compat.v1 in graph mode, TensorFlow's version)``."""
    import tensorflow as tf2

    tf = tf2.compat.v1
    tf.disable_eager_execution()
    return tf, tf2.__version__


@contextlib.contextmanager
def tensorflow_blocks(blocks: dict, name: str, no_tf: bool, python: str, script: str, args: list):
    """Adds TensorFlow's :class:`RemoteBlocks` to ``blocks`` as ``name`` when it can run; yields
    ``(remote, why)`` (``remote`` None and ``why`` saying why not otherwise) and stops the worker after."""
    remote, why = None, "skipped (--no-tf)"
    if not no_tf:
        if not python or not os.path.exists(python):
            why = f"no TensorFlow interpreter at {python!r}"
        else:
            try:
                remote = blocks[name] = RemoteBlocks(python, script, args)
            except RuntimeError as e:
                why = str(e).splitlines()[0][:300]
    try:
        yield remote, why
    finally:
        if remote is not None:
            remote.close()
