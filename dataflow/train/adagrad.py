"""``tf.train.AdagradOptimizer``: ``accum += grad^2; var -= lr * grad / sqrt(accum)``."""

from __future__ import annotations

from ..framework.graph import convert_to_tensor
from ..ops.math import cast
from ..ops.training import apply_adagrad
from .optimizer import Optimizer


def constant_slot(var, value):
    """An initial value for a slot of ``var``: ``value`` everywhere, in the variable's dtype."""
    from ..ops.array import fill

    dtype = var.dtype.base_dtype
    return lambda: fill(var.shape.as_list(), dtype.as_numpy_dtype(value))


class AdagradOptimizer(Optimizer):
    """Adagrad (Duchi et al. 2011): per-coordinate steps shrink with the sum of squared gradients.

    The ``"accumulator"`` slot starts at ``initial_accumulator_value`` (0.1), as in TF.

    Examples
    --------
    >>> import dataflow as tf
    >>> w = tf.Variable([1.0, 2.0])
    >>> opt = tf.train.AdagradOptimizer(0.1)
    >>> train = opt.minimize(tf.reduce_sum(tf.square(w)))
    >>> opt.get_slot_names()
    ['accumulator']
    """

    def __init__(self, learning_rate, initial_accumulator_value=0.1, use_locking=False, name="Adagrad"):
        if initial_accumulator_value <= 0.0:
            raise ValueError(f"initial_accumulator_value must be positive: {initial_accumulator_value}")
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._initial_accumulator_value = initial_accumulator_value

    def _create_slots(self, var_list):
        for v in var_list:
            self._get_or_make_slot(v, constant_slot(v, self._initial_accumulator_value), "accumulator", self._name)

    def _prepare(self):
        self._learning_rate_tensor = convert_to_tensor(self._call_if_callable(self._learning_rate),
                                                       name="learning_rate")

    def _apply_sparse(self, grad, var):
        from ..ops.sparse_training import sparse_apply_adagrad

        return sparse_apply_adagrad(var, self.get_slot(var, "accumulator"),
                                    cast(self._learning_rate_tensor, var.dtype.base_dtype), grad.values, grad.indices,
                                    use_locking=self._use_locking).op

    def _apply_dense(self, grad, var):
        return apply_adagrad(var, self.get_slot(var, "accumulator"),
                             cast(self._learning_rate_tensor, var.dtype.base_dtype), grad,
                             use_locking=self._use_locking).op
