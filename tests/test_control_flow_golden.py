"""Control flow against TensorFlow: the scenarios of ``golden/control_flow_cases.py`` run with dataflow
and compared with what TensorFlow 2.21 (``tf.compat.v1``, ref variables) computed for the same code
(``golden/make_control_flow_golden.py``): a read after an assign, an EMA after the train step, an RNN
loop with a TensorArray and its gradients, nested loops with a cond, structured loop variables with
``maximum_iterations``, case and cond gradients."""

import os
import sys

import numpy as np
import pytest

import dataflow as tf

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "golden")
sys.path.insert(0, HERE)
import control_flow_cases as cases  # noqa: E402

GOLDEN = np.load(os.path.join(HERE, "control_flow.npz"))


@pytest.mark.parametrize("case", cases.CASES, ids=lambda c: c.__name__)
def test_matches_tensorflow(case):
    got = cases.run(tf, case)
    keys = [k for k in GOLDEN.files if k.startswith(case.__name__ + "/")]
    assert keys
    for key in keys:
        name = key.split("/", 1)[1]
        np.testing.assert_allclose(np.asarray(got[name]), GOLDEN[key], rtol=1e-6, atol=1e-12, err_msg=key)
