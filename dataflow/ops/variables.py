"""``tf.Variable`` (TF1 reference variables) and the initializer helpers.

A Variable is a VariableV2 op (its *ref* output), an ``Assign`` initializer op, and a ``read``
Identity that the rest of the graph consumes, as in TF1: ``W`` in an expression is ``W/read:0``,
``tf.gradients(loss, W)`` differentiates through that read to the variable.
"""

from __future__ import annotations

from ..framework import dtypes
from ..framework.graph import (
    GraphKeys, Tensor, _OperatorMixin, convert_to_tensor, get_default_graph, name_scope,
    register_tensor_conversion_function)
from ..framework.func_graph import outside_bodies
from ..framework.tensor_shape import TensorShape, as_shape
from . import state
from .array import identity
from .constant import group, no_op


class Variable(_OperatorMixin):
    """A TF1 variable: state that persists across ``Session.run`` calls.

    Examples
    --------
    >>> import dataflow as tf
    >>> v = tf.Variable([1.0, 2.0], name="v")
    >>> with tf.Session() as sess:
    ...     sess.run(v.initializer)
    ...     print(sess.run(v.assign_add([1.0, 1.0])))
    [2. 3.]
    """

    def __init__(self, initial_value=None, trainable=True, collections=None, validate_shape=True,
                 caching_device=None, name=None, variable_def=None, dtype=None, expected_shape=None,
                 import_scope=None, constraint=None, use_resource=None, synchronization=None,
                 aggregation=None, shape=None):
        if initial_value is None:
            raise ValueError("initial_value must be specified.")
        if constraint is not None and not callable(constraint):
            raise ValueError("The `constraint` argument must be a callable.")
        # made while a loop body or a cond branch is built: the variable lives in the outermost graph
        with outside_bodies() as graph:
            if collections is None:
                collections = [GraphKeys.GLOBAL_VARIABLES]
            collections = list(collections)
            if trainable and GraphKeys.TRAINABLE_VARIABLES not in collections:
                collections.append(GraphKeys.TRAINABLE_VARIABLES)
            self._trainable = trainable
            self._constraint = constraint
            with graph.control_dependencies(None), name_scope(name, "Variable", []) as scope:
                with name_scope("Initializer"):
                    if callable(initial_value):
                        initial_value = initial_value()
                    self._initial_value = convert_to_tensor(initial_value, dtype=dtype, name="initial_value")
                var_shape = self._initial_value.shape if validate_shape else TensorShape(None)
                if shape is not None:
                    var_shape = as_shape(shape)
                if validate_shape and not var_shape.is_fully_defined():
                    raise ValueError(f"initial_value must have a shape specified: {self._initial_value}")
                self._variable = state.variable_op(var_shape, self._initial_value.dtype, name=scope)
                self._initializer_op = state.assign(self._variable, self._initial_value,
                                                    validate_shape=validate_shape, name="Assign").op
                with graph.colocate_with(self._variable.op):
                    self._snapshot = identity(self._variable, name="read")
            graph.add_to_collections(collections, self)
            self._save_slice_info = None

    # ---- the TF1 Variable surface -------------------------------------------------------------
    @property
    def name(self) -> str:
        return self._variable.name

    @property
    def op(self):
        return self._variable.op

    @property
    def graph(self):
        return self._variable.graph

    @property
    def dtype(self):
        return self._variable.dtype

    @property
    def shape(self) -> TensorShape:
        return self._variable.shape

    def get_shape(self) -> TensorShape:
        return self._variable.shape

    @property
    def device(self) -> str:
        return self._variable.device

    @property
    def initializer(self):
        return self._initializer_op

    @property
    def initial_value(self) -> Tensor:
        return self._initial_value

    @property
    def trainable(self) -> bool:
        return self._trainable

    @property
    def constraint(self):
        return self._constraint

    def value(self) -> Tensor:
        return self._snapshot

    def read_value(self) -> Tensor:
        """A fresh read of the variable (sees assigns it is ordered after)."""
        return identity(self._variable, name="read")

    def _ref(self) -> Tensor:
        return self._variable

    def _as_graph_element(self):
        return self._variable

    def initialized_value(self) -> Tensor:
        """The variable's value, or its initial value when it is not initialized yet."""
        with get_default_graph().control_dependencies(None):
            from ..framework.graph import make_op

            return make_op("InitializedValue", [self._variable, self._initial_value],
                           name=self.op.name + "/initialized_value").outputs[0]

    def assign(self, value, use_locking=False, name=None, read_value=True):
        return state.assign(self._variable, value, use_locking=use_locking, name=name)

    def assign_add(self, delta, use_locking=False, name=None, read_value=True):
        return state.assign_add(self._variable, delta, use_locking=use_locking, name=name)

    def assign_sub(self, delta, use_locking=False, name=None, read_value=True):
        return state.assign_sub(self._variable, delta, use_locking=use_locking, name=name)

    def load(self, value, session=None):
        """Write ``value`` into the variable in ``session`` (the default session if None)."""
        from ..runtime.session import _session_for

        sess = _session_for(session, self.graph)
        sess.run(self._initializer_op, {self._initial_value: value})

    def eval(self, session=None):
        return self._variable.eval(session=session)

    def set_shape(self, shape):
        self._variable.set_shape(shape)
        self._snapshot.set_shape(shape)

    def __getitem__(self, item):
        return self._snapshot[item]

    def __iter__(self):
        raise TypeError("'Variable' object is not iterable.")

    def __repr__(self):
        return f"<dataflow.Variable '{self.name}' shape={self.shape} dtype={self.dtype.name}_ref>"

    def __hash__(self):
        return id(self)

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return self is not other


def _variable_to_tensor(v: Variable, dtype=None, name=None, as_ref=False) -> Tensor:
    t = v._ref() if as_ref else v.value()
    if dtype is not None and dtypes.as_dtype(dtype) is not t.dtype:
        raise ValueError(f"Incompatible type conversion requested to type '{dtypes.as_dtype(dtype).name}' "
                         f"for variable of type '{t.dtype.name}'")
    return t


register_tensor_conversion_function(Variable, _variable_to_tensor)


# ---- collections and initializers -------------------------------------------------------------------
def global_variables(scope=None) -> list:
    return get_default_graph().get_collection(GraphKeys.GLOBAL_VARIABLES, scope)


def local_variables(scope=None) -> list:
    return get_default_graph().get_collection(GraphKeys.LOCAL_VARIABLES, scope)


def trainable_variables(scope=None) -> list:
    return get_default_graph().get_collection(GraphKeys.TRAINABLE_VARIABLES, scope)


def model_variables(scope=None) -> list:
    return get_default_graph().get_collection(GraphKeys.MODEL_VARIABLES, scope)


def moving_average_variables(scope=None) -> list:
    return get_default_graph().get_collection(GraphKeys.MOVING_AVERAGE_VARIABLES, scope)


def variables_initializer(var_list, name="init"):
    """One op that runs the initializers of ``var_list``."""
    if var_list:
        return group(*[v.initializer for v in var_list], name=name)
    return no_op(name=name)


def global_variables_initializer():
    """``tf.global_variables_initializer()``: initialize every global variable."""
    return variables_initializer(global_variables())


def local_variables_initializer():
    return variables_initializer(local_variables(), name="init")


def is_variable_initialized(variable):
    return state.is_variable_initialized(variable)


def report_uninitialized_variables(var_list=None, name="report_uninitialized_variables"):
    """A string tensor of the names of the uninitialized variables in ``var_list``."""
    from ..framework.graph import make_op

    var_list = global_variables() + local_variables() if var_list is None else var_list
    return make_op("ReportUninitialized", [v._ref() for v in var_list], name=name).outputs[0]


def _report_kernel(xp, *refs):
    import numpy as np

    return np.array([r.name.encode() for r in refs if not r.is_initialized()], dtype=object)


def _register_report():
    from ..framework.registry import ALL_INPUTS, OpDef, register

    register(OpDef("ReportUninitialized", lambda op: [(dtypes.string, TensorShape([None]))], _report_kernel,
                   stateful=True, ref_inputs=ALL_INPUTS, differentiable=False))


_register_report()

# TF1's old names
initialize_all_variables = global_variables_initializer
initialize_variables = variables_initializer
initialize_local_variables = local_variables_initializer
all_variables = global_variables
