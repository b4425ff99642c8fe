"""Case tables shared by ``make_surface_golden.py`` (TensorFlow) and the tests replaying them (dataflow)."""

SPARSE_OPTIMIZERS = {  # name -> (tf.train class name, kwargs)
    "sgd": ("GradientDescentOptimizer", {"learning_rate": 0.1}),
    "momentum": ("MomentumOptimizer", {"learning_rate": 0.1, "momentum": 0.9}),
    "nesterov": ("MomentumOptimizer", {"learning_rate": 0.1, "momentum": 0.9, "use_nesterov": True}),
    "adagrad": ("AdagradOptimizer", {"learning_rate": 0.1}),
    "adam": ("AdamOptimizer", {"learning_rate": 0.1}),
}


def ema_run(tf, session):
    """ExponentialMovingAverage(0.9, num_updates=step) of a scalar and a vector over three assign + apply
    rounds, in the default graph: ``(averages per round [3, 3], (v, w, step), ema)``."""
    import numpy as np

    v = tf.Variable(1.0, name="v")
    w = tf.Variable([1.0, 2.0], name="w")
    step = tf.Variable(0, trainable=False, name="step")
    ema = tf.train.ExponentialMovingAverage(0.9, num_updates=step)
    apply = ema.apply([v, w])
    values = []
    with session() as s:
        s.run(tf.global_variables_initializer())
        for i, (nv, nw) in enumerate([(2.0, [3.0, 1.0]), (5.0, [0.0, 0.0]), (-1.0, [4.0, 4.0])]):
            s.run([v.assign(nv), w.assign(nw), step.assign(i * 10)])
            s.run(apply)
            values.append(np.concatenate([[s.run(ema.average(v))], s.run(ema.average(w))]))
    return np.array(values, np.float32), (v, w, step), ema
