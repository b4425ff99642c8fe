"""Generate ``control_flow.npz`` with the real TensorFlow (TF1 graph semantics, ref variables).

    TF_ENABLE_ONEDNN_OPTS=0 /work/tfvenv/bin/python tests/golden/make_control_flow_golden.py

The scenarios are ``control_flow_cases.py`` (the same code dataflow runs in
``tests/test_control_flow_golden.py``); each fetched array is stored as ``<case>/<name>``.
Generated with tensorflow-cpu 2.21.0, ``tf.compat.v1`` with ``disable_v2_behavior()`` (ref variables,
graph mode).
"""

import os
import sys

import numpy as np
import tensorflow.compat.v1 as tf

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import control_flow_cases as cases  # noqa: E402

tf.disable_v2_behavior()

if __name__ == "__main__":
    out = {}
    for case in cases.CASES:
        for name, value in cases.run(tf, case).items():
            if value is not None:
                out[f"{case.__name__}/{name}"] = np.asarray(value)
    path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "control_flow.npz")
    np.savez(path, **out)
    print(f"wrote {len(out)} arrays to {path} (tensorflow {tf.__version__})")
