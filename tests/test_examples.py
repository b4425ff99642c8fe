"""The examples run as written and reach their targets."""

import os
import re
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _run(script, *args):
    out = subprocess.run([sys.executable, os.path.join(ROOT, "examples", script), *args], capture_output=True, text=True,
                         timeout=600, cwd=ROOT)
    assert out.returncode == 0, out.stderr
    return out.stdout


def test_cnn_digits_reaches_97_percent():
    pytest.importorskip("sklearn")
    stdout = _run("cnn_digits.py")
    acc = float(re.search(r"final test accuracy: ([0-9.]+)", stdout).group(1))
    assert acc >= 0.97, stdout


def test_mlp_example_learns():
    pytest.importorskip("sklearn")
    stdout = _run("mlp.py")
    accs = [float(a) for a in re.findall(r"test accuracy ([0-9.]+)", stdout)]
    assert accs and accs[-1] >= 0.95, stdout


@pytest.mark.slow
def test_cnn_digits_on_opencl_trains_as_on_the_cpu():
    """The CNN example with --device /device:OPENCL:0 (short run): the same accuracy as on the CPU
    (random numbers are drawn on the host from the same generators, so the runs follow each other)."""
    import backends

    if not backends.available("OPENCL", 0):
        pytest.skip("no OpenCL device")
    cpu = _run("cnn_digits.py", "--epochs", "2")
    cl = _run("cnn_digits.py", "--epochs", "2", "--device", "/device:OPENCL:0")
    acc = [float(re.search(r"final test accuracy: ([0-9.]+)", out).group(1)) for out in (cpu, cl)]
    assert acc[0] > 0.8 and abs(acc[0] - acc[1]) <= 0.01, acc
