"""``tf.train.MomentumOptimizer``: ``accum = momentum * accum + grad; var -= lr * accum``."""

from __future__ import annotations

from ..framework.graph import convert_to_tensor
from ..ops.math import cast
from ..ops.training import apply_momentum
from .optimizer import Optimizer


class MomentumOptimizer(Optimizer):
    """Gradient descent with momentum (one ``"momentum"`` slot per variable, zeros at first).

    With ``use_nesterov=True`` the step looks ahead: ``var -= lr * (grad + momentum * accum)``.

    Examples
    --------
    >>> import dataflow as tf
    >>> w = tf.Variable([1.0, 2.0])
    >>> opt = tf.train.MomentumOptimizer(0.1, momentum=0.9)
    >>> train = opt.minimize(tf.reduce_sum(tf.square(w)))
    >>> opt.get_slot_names()
    ['momentum']
    """

    def __init__(self, learning_rate, momentum, use_locking=False, name="Momentum", use_nesterov=False):
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate
        self._momentum = momentum
        self._use_nesterov = use_nesterov

    def _create_slots(self, var_list):
        for v in var_list:
            self._zeros_slot(v, "momentum", self._name)

    def _prepare(self):
        self._learning_rate_tensor = convert_to_tensor(self._call_if_callable(self._learning_rate),
                                                       name="learning_rate")
        self._momentum_tensor = convert_to_tensor(self._call_if_callable(self._momentum), name="momentum")

    def _apply_sparse(self, grad, var):
        from ..ops.sparse_training import sparse_apply_momentum

        dtype = var.dtype.base_dtype
        return sparse_apply_momentum(var, self.get_slot(var, "momentum"), cast(self._learning_rate_tensor, dtype),
                                     grad.values, grad.indices, cast(self._momentum_tensor, dtype),
                                     use_locking=self._use_locking, use_nesterov=self._use_nesterov).op

    def _apply_dense(self, grad, var):
        dtype = var.dtype.base_dtype
        return apply_momentum(var, self.get_slot(var, "momentum"), cast(self._learning_rate_tensor, dtype), grad,
                              cast(self._momentum_tensor, dtype), use_locking=self._use_locking,
                              use_nesterov=self._use_nesterov).op
