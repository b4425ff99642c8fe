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
])
def test_bench_script_runs(script, args, expect):
    extra = [] if script == "run_overhead.py" else ["--no-tf"]
    out = subprocess.run([sys.executable, os.path.join(BENCH, script), *args, *extra], capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    assert expect in out.stdout
