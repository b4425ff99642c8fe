"""The benchmark scripts run (a few steps, no TensorFlow): their figures are recorded in bench/README.md."""

import os
import subprocess
import sys

import pytest

BENCH = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "bench")


@pytest.mark.parametrize("script, args, expect", [
    ("train_mlp.py", ["--steps", "3", "--blocks", "1"], "dataflow / numpy = "),
    ("train_cnn.py", ["--steps", "2", "--rounds", "1"], "dataflow/NumPy = "),
    ("run_overhead.py", ["--repeat", "200"], "us"),
    ("rewrite.py", ["--rows", "64", "--cols", "48", "--rounds", "1", "--runs", "1"], "speedup on/off = "),
    ("backends.py", ["--size", "64", "--n", "4096", "--batch", "2", "--steps", "1", "--reps", "1"], "CPU:0"),
])
def test_bench_script_runs(script, args, expect):
    extra = [] if script in ("run_overhead.py", "backends.py") else ["--no-tf"]
    out = subprocess.run([sys.executable, os.path.join(BENCH, script), *args, *extra], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert expect in out.stdout


def test_interleaved_rates_pair_rounds_and_take_the_median_ratio(monkeypatch):
    sys.path.insert(0, BENCH)
    try:
        import interleave
    finally:
        sys.path.remove(BENCH)
    monkeypatch.setattr(interleave, "PAUSE_S", 0)
    order = []

    def fake(name, seconds):  # a block(n) whose "time" is scripted per round
        it = iter(seconds)

        def block(n):
            order.append(name)
            return next(it)
        return block

    # b's third block is a lucky one: the ratio of the bests says 1.0, the rounds say 2.0
    blocks = {"a": fake("a", [9, 4, 4, 4, 4]), "b": fake("b", [9, 8, 8, 4, 8])}
    rates = interleave.interleaved_rates(blocks, steps=40, rounds=4, warmup=1)
    assert rates.per_round == {"a": [10, 10, 10, 10], "b": [5, 5, 10, 5]}
    assert rates.best("a") / rates.best("b") == 1.0 and rates.median_ratio("a", "b") == 2.0
    assert order[2:] == ["a", "b", "b", "a", "a", "b", "b", "a"]  # the order alternates after the warm-up
    assert "BLAS" in interleave.blas_note()
