"""Case tables shared by ``make_surface_golden.py`` (TensorFlow) and the tests replaying them (dataflow)."""

SPARSE_OPTIMIZERS = {  # name -> (tf.train class name, kwargs)
    "sgd": ("GradientDescentOptimizer", {"learning_rate": 0.1}),
    "momentum": ("MomentumOptimizer", {"learning_rate": 0.1, "momentum": 0.9}),
    "nesterov": ("MomentumOptimizer", {"learning_rate": 0.1, "momentum": 0.9, "use_nesterov": True}),
    "adagrad": ("AdagradOptimizer", {"learning_rate": 0.1}),
    "adam": ("AdamOptimizer", {"learning_rate": 0.1}),
}
