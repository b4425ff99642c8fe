"""``tf.train.Optimizer``: gradients -> update ops, with per-variable slots.

``minimize`` = ``compute_gradients`` (``tf.gradients`` of the loss for the trainable variables) then
``apply_gradients`` (one update op per variable, built by the subclass's ``_apply_dense``, grouped,
and followed by ``global_step += 1`` when a global step is given). A variable made with a
``constraint`` is projected after its update, ``v.assign(constraint(v))``, as TF1's optimizers do.
"""

from __future__ import annotations

from ..autodiff import gradients
from ..framework.indexed_slices import IndexedSlices, deduplicate
from ..framework.graph import GraphKeys, convert_to_tensor, get_default_graph, name_scope
from ..ops import state
from ..ops.constant import group
from ..ops.variables import Variable, trainable_variables


class Optimizer:
    """Base class of the TF1 optimizers."""

    GATE_NONE = 0
    GATE_OP = 1
    GATE_GRAPH = 2

    def __init__(self, use_locking: bool, name: str):
        if not name:
            raise ValueError("Must specify the optimizer name")
        self._use_locking = use_locking
        self._name = name
        self._slots: dict[str, dict] = {}

    def get_name(self) -> str:
        return self._name

    # ---- the public protocol -----------------------------------------------------------------
    def minimize(self, loss, global_step=None, var_list=None, gate_gradients=GATE_OP, aggregation_method=None,
                 colocate_gradients_with_ops=False, name=None, grad_loss=None):
        """Add ops that update ``var_list`` (all trainable variables) to reduce ``loss``."""
        grads_and_vars = self.compute_gradients(loss, var_list=var_list, gate_gradients=gate_gradients,
                                                aggregation_method=aggregation_method, grad_loss=grad_loss)
        vars_with_grad = [v for g, v in grads_and_vars if g is not None]
        if not vars_with_grad:
            raise ValueError(f"No gradients provided for any variable, check your graph for ops that do not "
                             f"support gradients, between variables {[v.name for _, v in grads_and_vars]} "
                             f"and loss {loss}.")
        return self.apply_gradients(grads_and_vars, global_step=global_step, name=name)

    def compute_gradients(self, loss, var_list=None, gate_gradients=GATE_OP, aggregation_method=None,
                          colocate_gradients_with_ops=False, grad_loss=None):
        """``[(gradient or None, variable)]`` for each variable in ``var_list``."""
        if callable(loss):
            loss = loss()
        loss = convert_to_tensor(loss)
        if var_list is None:
            var_list = trainable_variables()
        var_list = list(var_list)
        if not var_list:
            raise ValueError("No variables to optimize.")
        grads = gradients(loss, var_list, grad_ys=None if grad_loss is None else [grad_loss],
                          aggregation_method=aggregation_method)
        return list(zip(grads, var_list))

    def apply_gradients(self, grads_and_vars, global_step=None, name=None):
        """One op applying each (gradient, variable) update, then incrementing ``global_step``."""
        grads_and_vars = tuple(grads_and_vars)
        if not grads_and_vars:
            raise ValueError("No variables provided.")
        converted = []
        for g, v in grads_and_vars:
            if not isinstance(v, Variable):
                raise TypeError(f"Can not apply gradients to {v!r}: not a Variable")
            converted.append((None if g is None else g if isinstance(g, IndexedSlices) else convert_to_tensor(g), v))
        var_list = [v for g, v in converted if g is not None]
        if not var_list:
            raise ValueError(f"No gradients provided for any variable: {[v.name for _, v in converted]}.")
        graph = get_default_graph()
        with graph.control_dependencies(None):
            self._create_slots(var_list)
        update_ops = []
        with name_scope(name, self._name) as scope:
            self._prepare()
            for g, v in converted:
                if g is None:
                    continue
                with name_scope("update_" + v.op.name):
                    update_ops.append(self._update_op(g, v))
            if global_step is None:
                apply_updates = self._finish(update_ops, scope)
            else:
                with graph.control_dependencies([self._finish(update_ops, "update")]):
                    apply_updates = state.assign_add(global_step, 1, name=scope).op
        train_ops = graph.get_collection_ref(GraphKeys.TRAIN_OP)
        if apply_updates not in train_ops:
            train_ops.append(apply_updates)
        return apply_updates

    def _update_op(self, grad, var):
        """The subclass's update of ``var``, then (TF's ``_RefVariableProcessor.update_op``) the projection
        ``var.assign(var.constraint(var))`` ordered after it when ``var`` has a constraint."""
        if isinstance(grad, IndexedSlices):
            update = self._apply_sparse_duplicate_indices(grad, var)
        else:
            update = self._apply_dense(grad, var)
        if var.constraint is None:
            return update
        with get_default_graph().control_dependencies([update]):
            return var.assign(var.constraint(var.read_value()))

    # ---- slots -----------------------------------------------------------------------------------
    def get_slot_names(self) -> list:
        return sorted(self._slots)

    def get_slot(self, var, name):
        return self._slots.get(name, {}).get(var)

    def variables(self) -> list:
        return [v for slots in self._slots.values() for v in slots.values()]

    def _get_or_make_slot(self, var, initial_value, slot_name, op_name):
        from ..ops.partitioned_variables import copy_slice_info

        slots = self._slots.setdefault(slot_name, {})
        if var not in slots:
            with get_default_graph().name_scope(None):
                slots[var] = Variable(initial_value, trainable=False, name=f"{var.op.name}/{op_name}",
                                      dtype=var.dtype)
            copy_slice_info(var, slots[var])
        return slots[var]

    def _zeros_slot(self, var, slot_name, op_name):
        from ..ops.array import zeros

        return self._get_or_make_slot(var, lambda: zeros(var.shape.as_list(), var.dtype), slot_name, op_name)

    # ---- what subclasses provide ------------------------------------------------------------------
    def _create_slots(self, var_list):
        pass

    def _prepare(self):
        pass

    def _apply_dense(self, grad, var):
        raise NotImplementedError

    def _apply_sparse_duplicate_indices(self, grad, var):
        """A sparse gradient's update: repeated rows summed (TF's dedup), then :meth:`_apply_sparse`."""
        return self._apply_sparse(deduplicate(grad), var)

    def _apply_sparse(self, grad, var):
        """The update for unique-row ``grad`` (an IndexedSlices); optimizers without a sparse rule apply
        it densified."""
        return self._apply_dense(convert_to_tensor(grad), var)

    def _finish(self, update_ops, name_scope_):
        return group(*update_ops, name=name_scope_)

    def _call_if_callable(self, v):
        return v() if callable(v) else v
