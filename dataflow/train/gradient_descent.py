"""``tf.train.GradientDescentOptimizer``: ``var -= learning_rate * grad``."""

from __future__ import annotations

from ..framework.graph import convert_to_tensor
from ..ops.training import apply_gradient_descent
from .optimizer import Optimizer


class GradientDescentOptimizer(Optimizer):
    """Plain gradient descent.

    Examples
    --------
    >>> import dataflow as tf
    >>> w = tf.Variable(1.0)
    >>> train = tf.train.GradientDescentOptimizer(0.5).minimize(tf.square(w))
    """

    def __init__(self, learning_rate, use_locking=False, name="GradientDescent"):
        super().__init__(use_locking, name)
        self._learning_rate = learning_rate

    def _prepare(self):
        self._lr_t = convert_to_tensor(self._call_if_callable(self._learning_rate), name="learning_rate")

    def _apply_sparse_duplicate_indices(self, grad, var):
        # TF's: var.scatter_sub(lr * values) at the (possibly repeated) indices: only those rows change
        from ..ops.math import cast
        from ..ops.sparse_training import scatter_sub

        return scatter_sub(var, grad.indices, grad.values * cast(self._lr_t, var.dtype.base_dtype),
                           use_locking=self._use_locking).op

    def _apply_dense(self, grad, var):
        from ..ops.math import cast

        return apply_gradient_descent(var, cast(self._lr_t, var.dtype.base_dtype), grad).op
