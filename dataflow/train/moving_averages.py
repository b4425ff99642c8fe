"""``tf.train.ExponentialMovingAverage``: shadow variables that follow variables by an EMA.

``apply(var_list)`` makes one non-trainable shadow variable per variable (named
``<var>/ExponentialMovingAverage``, initialized to the variable's initial value) and returns an op
that updates each as ``shadow -= (shadow - var) * (1 - decay)``. The usual TF1 pattern runs it after
the training step: ``with tf.control_dependencies([train_op]): ema_op = ema.apply(vars)``; the
update reads each variable when it runs, so it sees the step's new values.
"""

from __future__ import annotations

from ..framework import dtypes
from ..framework.graph import GraphKeys, convert_to_tensor, get_default_graph, name_scope
from ..ops.partitioned_variables import copy_slice_info


class ExponentialMovingAverage:
    """Maintain moving averages of variables (TF1's ``tf.train.ExponentialMovingAverage``).

    Parameters
    ----------
    decay: the decay rate (typically close to 1: 0.999).
    num_updates: optional count of updates; the decay used is then
        ``min(decay, (1 + num_updates) / (10 + num_updates))``.
    zero_debias: accepted for TF's signature; only variables are averaged here (TF debiases tensors).
    name: the shadow variables' name suffix and the update ops' name scope.

    Examples
    --------
    >>> import dataflow as tf
    >>> w = tf.Variable(1.0)
    >>> ema = tf.train.ExponentialMovingAverage(0.5)
    >>> update = ema.apply([w])
    >>> with tf.Session() as sess:
    ...     sess.run(tf.global_variables_initializer())
    ...     _ = sess.run(w.assign(3.0))
    ...     sess.run(update)
    ...     print(sess.run(ema.average(w)))
    2.0
    """

    def __init__(self, decay, num_updates=None, zero_debias=False, name="ExponentialMovingAverage"):
        self._decay = decay
        self._num_updates = num_updates
        self._zero_debias = zero_debias
        self._name = name
        self._averages: dict = {}

    @property
    def name(self) -> str:
        return self._name

    def apply(self, var_list=None):
        """Create shadow variables for ``var_list`` (default: the trainable variables) and return
        the op that updates them all."""
        from ..ops.constant import group
        from ..ops.math import cast, minimum
        from ..ops.variables import Variable

        graph = get_default_graph()
        if var_list is None:
            var_list = graph.get_collection(GraphKeys.TRAINABLE_VARIABLES)
        var_list = list(var_list)
        for var in var_list:
            if not isinstance(var, Variable):
                raise TypeError(f"ExponentialMovingAverage.apply averages Variables; got {var!r}")
            if var.dtype.base_dtype not in (dtypes.float16, dtypes.float32, dtypes.float64):
                raise TypeError(f"The variables must be half, float, or double: {var.name}")
            if var in self._averages:
                raise ValueError(f"Moving average already computed for: {var.name}")
            with graph.control_dependencies(None), graph.name_scope(None):
                self._averages[var] = Variable(var.initialized_value(), trainable=False,
                                               name=self.average_name(var))
                copy_slice_info(var, self._averages[var])
            graph.add_to_collection(GraphKeys.MOVING_AVERAGE_VARIABLES, var)
        with name_scope(self._name):
            decay = convert_to_tensor(self._decay, dtype=dtypes.float32, name="decay")
            if self._num_updates is not None:
                n = cast(convert_to_tensor(self._num_updates), dtypes.float32)
                decay = minimum(decay, (1.0 + n) / (10.0 + n))
            updates = []
            for var in var_list:
                shadow = self._averages[var]
                with name_scope(var.op.name):
                    rate = 1.0 - cast(decay, var.dtype.base_dtype)
                    updates.append(shadow.assign_sub((shadow - var) * rate))
            return group(*updates, name="ExponentialMovingAverage")

    def average(self, var):
        """The shadow variable of ``var`` (None if ``apply`` did not average it)."""
        return self._averages.get(var)

    def average_name(self, var) -> str:
        """The name of ``var``'s shadow variable: ``<var op name>/<self.name>``."""
        return f"{var.op.name}/{self._name}"

    def variables_to_restore(self, moving_avg_variables=None) -> dict:
        """``{name in a checkpoint: variable}`` restoring averaged variables from their shadows."""
        graph = get_default_graph()
        averaged = moving_avg_variables if moving_avg_variables is not None else \
            graph.get_collection(GraphKeys.MOVING_AVERAGE_VARIABLES) + \
            graph.get_collection(GraphKeys.TRAINABLE_VARIABLES)
        out = {}
        for v in graph.get_collection(GraphKeys.GLOBAL_VARIABLES):
            if any(v is a for a in self._averages.values()):
                continue
            out[self.average_name(v) if any(v is a for a in averaged) else v.op.name] = v
        return out
