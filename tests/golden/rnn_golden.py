"""The recurrent-network golden cases, written once against a TF1 module ``tf``: TensorFlow's
``tensorflow.compat.v1`` when ``make_surface_golden.py`` makes the golden values (with tf_keras
installed and ``TF_USE_LEGACY_KERAS=1``, for the TF1 cells), and ``dataflow`` when the tests replay them.

Each case builds cells, runs them over the stored input ``x`` (``[batch=2, time=4, depth=3]``), sets every
trainable variable to a stored value looked up BY ITS NAME (so the variable names must be TF's), and
fetches the outputs, the flattened final state and the gradients of a fixed weighted sum of both with
respect to ``x`` and to every variable.
"""

import numpy as np

LENGTHS = np.array([4, 2], np.int32)


def _cells(tf, case):
    rc = tf.nn.rnn_cell
    return {
        "basic_rnn_static": lambda: rc.BasicRNNCell(4),
        "basic_lstm_static_len": lambda: rc.BasicLSTMCell(4, forget_bias=0.5),
        "lstm_full_dynamic_len": lambda: rc.LSTMCell(4, use_peepholes=True, num_proj=3, cell_clip=0.8,
                                                     proj_clip=0.3),
        "lstm_concat_state_dynamic": lambda: rc.LSTMCell(3, state_is_tuple=False),
        "gru_dynamic_time_major": lambda: rc.GRUCell(4),
        "multi_dynamic_len": lambda: rc.MultiRNNCell([rc.BasicLSTMCell(4), rc.GRUCell(3)]),
        "residual_static": lambda: rc.ResidualWrapper(rc.DropoutWrapper(rc.BasicRNNCell(3), output_keep_prob=1.0)),
        "bidirectional_len": lambda: (rc.LSTMCell(3), rc.GRUCell(2)),
    }[case]()


CASES = ["basic_rnn_static", "basic_lstm_static_len", "lstm_full_dynamic_len", "lstm_concat_state_dynamic",
         "gru_dynamic_time_major", "multi_dynamic_len", "residual_static", "bidirectional_len"]


def _flat(x):
    if isinstance(x, (tuple, list)):
        return [leaf for item in x for leaf in _flat(item)]
    return [x]


def build(tf, case, x_value, unknown_time=False):
    """``(x, outputs, states)`` for ``case``: outputs as a list of ``[batch, time, units]`` tensors.
    ``unknown_time``: the input's time dimension is unknown when the graph is built (a while loop)."""
    x = tf.constant(x_value)
    if unknown_time:
        x = tf.placeholder_with_default(x, [x_value.shape[0], None, x_value.shape[2]])
    cell = _cells(tf, case)
    if case.endswith("_static") or case.endswith("_static_len"):
        length = LENGTHS if case.endswith("_len") else None
        outs, state = tf.nn.static_rnn(cell, tf.unstack(x, axis=1), dtype=tf.float32, sequence_length=length)
        outputs = [tf.stack(outs, axis=1)]
    elif case == "gru_dynamic_time_major":
        out, state = tf.nn.dynamic_rnn(cell, tf.transpose(x, [1, 0, 2]), dtype=tf.float32, time_major=True)
        outputs = [tf.transpose(out, [1, 0, 2])]
    elif case == "bidirectional_len":
        (fw, bw), state = tf.nn.bidirectional_dynamic_rnn(cell[0], cell[1], x, sequence_length=LENGTHS,
                                                          dtype=tf.float32)
        outputs = [fw, bw]
    else:
        length = LENGTHS if case.endswith("_len") else None
        out, state = tf.nn.dynamic_rnn(cell, x, sequence_length=length, dtype=tf.float32)
        outputs = [out]
    return x, outputs, _flat(state)


def run(tf, session, case, x_value, weights=None, cotangent_seed=1, unknown_time=False):
    """Build ``case``, set its variables from ``weights`` (name -> array; drawn when None) and return
    ``(values, weights)``: values maps ``out/i``, ``state/i``, ``grad/x``, ``grad/<var name>`` to arrays."""
    with tf.Graph().as_default():
        x, outputs, states = build(tf, case, x_value, unknown_time)
        variables = tf.trainable_variables()
        rng = np.random.RandomState(cotangent_seed)
        if weights is None:
            weights = {v.op.name: (rng.uniform(-0.8, 0.8, v.shape.as_list())).astype(np.float32) for v in variables}
        if sorted(weights) != sorted(v.op.name for v in variables):
            raise AssertionError(f"variable names differ: {sorted(weights)} vs {sorted(v.op.name for v in variables)}")
        crng = np.random.RandomState(cotangent_seed + 1)
        loss = 0.0
        for t in outputs + states:
            shape = [d if d is not None else x_value.shape[1] for d in t.shape.as_list()]
            loss = loss + tf.reduce_sum(t * tf.constant(crng.uniform(-1, 1, shape).astype(np.float32)))
        grads = tf.gradients(loss, [x] + variables)
        with session() as s:
            s.run(tf.global_variables_initializer())
            for v in variables:
                s.run(v.assign(weights[v.op.name]))
            vals = s.run(outputs + states + grads)
    names = [f"out/{i}" for i in range(len(outputs))] + [f"state/{i}" for i in range(len(states))] + \
        ["grad/x"] + [f"grad/{v.op.name}" for v in variables]
    return dict(zip(names, vals)), weights


def make(tf, session):
    """The golden arrays of every case, keyed ``rnn/<case>/...``."""
    out = {}
    x_value = np.random.RandomState(7).uniform(-1, 1, (2, 4, 3)).astype(np.float32)
    out["rnn/x"] = x_value
    for case in CASES:
        values, weights = run(tf, session, case, x_value)
        for k, v in values.items():
            out[f"rnn/{case}/{k}"] = v
        for k, v in weights.items():
            out[f"rnn/{case}/weight/{k}"] = v
    return out
