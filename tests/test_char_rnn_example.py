"""examples/char_rnn.py trains: its loss falls and it samples text."""

import os
import re
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def test_char_rnn_loss_falls():
    out = subprocess.run([sys.executable, os.path.join(ROOT, "examples", "char_rnn.py"), "--steps", "100",
                          "--sample-every", "100", "--units", "64"], capture_output=True, text=True, timeout=600,
                         cwd=ROOT, env={**os.environ, "PYTHONPATH": ROOT})
    assert out.returncode == 0, out.stderr
    losses = [float(v) for v in re.findall(r"loss ([0-9.]+)", out.stdout)]
    assert losses[0] > 3.0 and losses[-1] < 0.6 * losses[0], out.stdout
    assert re.search(r"sample: 'Beautiful .{20,}'", out.stdout), out.stdout
