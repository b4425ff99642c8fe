"""``tf.train.AdamOptimizer``: TF1's Adam, with the bias correction folded into the step size.

State: slots ``"m"`` and ``"v"`` per variable (zeros at first) and two *non-slot* variables shared by
all the variables it trains, ``beta1_power`` and ``beta2_power`` (``beta^t``, starting at ``beta``),
multiplied by ``beta1``/``beta2`` after every step's updates (``_finish``).
"""

from __future__ import annotations

from ..framework.graph import convert_to_tensor, get_default_graph
from ..ops.constant import group
from ..ops.math import cast
from ..ops.state import assign
from ..ops.training import apply_adam
from ..ops.variables import Variable
from .optimizer import Optimizer


class AdamOptimizer(Optimizer):
    """Adam (Kingma & Ba 2015) as TF1 computes it.

    ``lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t)``, ``m = beta1 * m + (1 - beta1) * g``,
    ``v = beta2 * v + (1 - beta2) * g^2``, ``var -= lr_t * m / (sqrt(v) + epsilon)``: epsilon is the
    paper's "epsilon hat", added outside the bias correction, so TF's small-``v`` behaviour is kept.

    Examples
    --------
    >>> import dataflow as tf
    >>> w = tf.Variable([1.0, 2.0])
    >>> opt = tf.train.AdamOptimizer(0.01)
    >>> train = opt.minimize(tf.reduce_sum(tf.square(w)))
    >>> opt.get_slot_names()
    ['m', 'v']
    """

    def __init__(self, learning_rate=0.001, beta1=0.9, beta2=0.999, epsilon=1e-8, use_locking=False,
                 name="Adam"):
        super().__init__(use_locking, name)
        self._lr = learning_rate
        self._beta1 = beta1
        self._beta2 = beta2
        self._epsilon = epsilon
        self._non_slot_dict: dict = {}

    # ---- non-slot variables (TF1's Optimizer._create_non_slot_variable) ---------------------------
    def _create_non_slot_variable(self, initial_value, name, colocate_with):
        key = (name, colocate_with.graph)
        v = self._non_slot_dict.get(key)
        if v is None:
            graph = colocate_with.graph
            with graph.as_default(), graph.colocate_with(colocate_with.op):
                v = Variable(initial_value, name=name, trainable=False)
            self._non_slot_dict[key] = v
        return v

    def _get_non_slot_variable(self, name, graph=None):
        return self._non_slot_dict.get((name, graph or get_default_graph()))

    def _get_beta_accumulators(self):
        graph = get_default_graph()
        return self._get_non_slot_variable("beta1_power", graph), self._get_non_slot_variable("beta2_power", graph)

    def variables(self) -> list:
        graph = get_default_graph()
        non_slot = [v for (_, g), v in sorted(self._non_slot_dict.items(), key=lambda kv: kv[0][0]) if g is graph]
        return non_slot + super().variables()

    # ---- the Optimizer protocol ---------------------------------------------------------------------
    def _create_slots(self, var_list):
        first_var = min(var_list, key=lambda x: x.name)
        self._create_non_slot_variable(self._call_if_callable(self._beta1), "beta1_power", first_var)
        self._create_non_slot_variable(self._call_if_callable(self._beta2), "beta2_power", first_var)
        for v in var_list:
            self._zeros_slot(v, "m", self._name)
            self._zeros_slot(v, "v", self._name)

    def _prepare(self):
        self._lr_t = convert_to_tensor(self._call_if_callable(self._lr), name="learning_rate")
        self._beta1_t = convert_to_tensor(self._call_if_callable(self._beta1), name="beta1")
        self._beta2_t = convert_to_tensor(self._call_if_callable(self._beta2), name="beta2")
        self._epsilon_t = convert_to_tensor(self._call_if_callable(self._epsilon), name="epsilon")

    def _apply_dense(self, grad, var):
        dtype = var.dtype.base_dtype
        beta1_power, beta2_power = self._get_beta_accumulators()
        return apply_adam(var, self.get_slot(var, "m"), self.get_slot(var, "v"), cast(beta1_power, dtype),
                          cast(beta2_power, dtype), cast(self._lr_t, dtype), cast(self._beta1_t, dtype),
                          cast(self._beta2_t, dtype), cast(self._epsilon_t, dtype), grad,
                          use_locking=self._use_locking).op

    def _apply_sparse(self, grad, var):
        """TF1's sparse Adam: the moments decay everywhere, the gradient rows are added where they are
        (``ScatterAdd``), and the whole variable moves (TF's ``_apply_sparse_shared``, not LazyAdam)."""
        from ..ops.math import sqrt
        from ..ops.sparse_training import scatter_add
        from ..ops.state import assign_sub

        dtype = var.dtype.base_dtype
        beta1_power, beta2_power = (cast(p, dtype) for p in self._get_beta_accumulators())
        lr_t, beta1_t, beta2_t, eps_t = (cast(t, dtype) for t in (self._lr_t, self._beta1_t, self._beta2_t,
                                                                   self._epsilon_t))
        lr = lr_t * sqrt(1 - beta2_power) / (1 - beta1_power)
        graph = get_default_graph()
        m, v = self.get_slot(var, "m"), self.get_slot(var, "v")
        m_t = assign(m, m * beta1_t, use_locking=self._use_locking)
        with graph.control_dependencies([m_t]):
            m_t = scatter_add(m, grad.indices, grad.values * (1 - beta1_t), use_locking=self._use_locking)
        v_t = assign(v, v * beta2_t, use_locking=self._use_locking)
        with graph.control_dependencies([v_t]):
            v_t = scatter_add(v, grad.indices, (grad.values * grad.values) * (1 - beta2_t),
                              use_locking=self._use_locking)
        var_update = assign_sub(var, lr * m_t / (sqrt(v_t) + eps_t), use_locking=self._use_locking)
        return group(var_update, m_t, v_t)

    def _finish(self, update_ops, name_scope_):
        graph = get_default_graph()
        with graph.control_dependencies(update_ops):
            beta1_power, beta2_power = self._get_beta_accumulators()
            with graph.colocate_with(beta1_power.op):
                update_beta1 = assign(beta1_power, beta1_power * self._beta1_t, use_locking=self._use_locking)
                update_beta2 = assign(beta2_power, beta2_power * self._beta2_t, use_locking=self._use_locking)
        return group(*update_ops, update_beta1, update_beta2, name=name_scope_)
