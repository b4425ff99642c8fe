"""``tf.variable_scope`` and ``tf.get_variable``: variables named by scope, shared by ``reuse``.

Each graph keeps a store of the variables made by ``get_variable`` (full name -> Variable) and the
current :class:`VariableScope`. A scope's ``reuse`` is False (create; an existing name is an error),
True (look up; a missing name is an error) or ``AUTO_REUSE`` (either), inherited by inner scopes.
"""

from __future__ import annotations

import contextlib
import enum

import numpy as np

from ..framework import dtypes
from ..framework.graph import GraphKeys, Tensor, get_default_graph
from ..framework.tensor_shape import as_shape
from . import init_ops
from .variables import Variable


class _ReuseMode(enum.Enum):
    AUTO_REUSE = 1


AUTO_REUSE = _ReuseMode.AUTO_REUSE


class VariableScope:
    """A variable scope: a name prefix, a reuse mode and defaults for ``get_variable``."""

    def __init__(self, reuse, name="", initializer=None, regularizer=None, caching_device=None,
                 partitioner=None, custom_getter=None, name_scope="", dtype=dtypes.float32,
                 use_resource=None, constraint=None):
        self._partitioner = partitioner
        self._name = name
        self._reuse = reuse
        self._initializer = initializer
        self._regularizer = regularizer
        self._custom_getter = custom_getter
        self._name_scope = name_scope
        self._dtype = dtypes.as_dtype(dtype)
        self._constraint = constraint

    @property
    def name(self):
        return self._name

    @property
    def original_name_scope(self):
        return self._name_scope

    @property
    def reuse(self):
        return self._reuse

    @property
    def initializer(self):
        return self._initializer

    @property
    def regularizer(self):
        return self._regularizer

    @property
    def dtype(self):
        return self._dtype

    @property
    def custom_getter(self):
        return self._custom_getter

    @property
    def constraint(self):
        return self._constraint

    @property
    def partitioner(self):
        return self._partitioner

    def set_partitioner(self, partitioner):
        self._partitioner = partitioner

    def reuse_variables(self):
        """Make this scope (and scopes opened in it from now on) reuse variables."""
        self._reuse = True

    def set_initializer(self, initializer):
        self._initializer = initializer

    def set_regularizer(self, regularizer):
        self._regularizer = regularizer

    def set_dtype(self, dtype):
        self._dtype = dtypes.as_dtype(dtype)

    def get_variable(self, name, shape=None, dtype=None, initializer=None, regularizer=None,
                     trainable=True, collections=None, caching_device=None, partitioner=None,
                     validate_shape=True, use_resource=None, custom_getter=None, constraint=None, **kw):
        full = f"{self._name}/{name}" if self._name else name
        partitioner = partitioner if partitioner is not None else self._partitioner
        initializer = initializer if initializer is not None else self._initializer
        constraint = constraint if constraint is not None else self._constraint
        regularizer = regularizer if regularizer is not None else self._regularizer
        dtype = dtypes.as_dtype(dtype) if dtype is not None else self._dtype
        getter = custom_getter or self._custom_getter
        kwargs = dict(shape=shape, dtype=dtype, initializer=initializer, regularizer=regularizer,
                      trainable=trainable, collections=collections, validate_shape=validate_shape,
                      constraint=constraint, reuse=self._reuse)
        if partitioner is not None:
            from .partitioned_variables import get_partitioned_variable

            single = (lambda n, **kw: getter(_store_get, n, **kw)) if getter is not None else _store_get
            return get_partitioned_variable(single, full, partitioner, **kwargs)
        if getter is not None:
            return getter(_store_get, full, **kwargs)
        return _store_get(full, **kwargs)


def _store(graph) -> dict:
    if not hasattr(graph, "_variable_store"):
        graph._variable_store = {}
    return graph._variable_store


def _store_get(name, shape=None, dtype=dtypes.float32, initializer=None, regularizer=None, trainable=True,
               collections=None, validate_shape=True, constraint=None, reuse=None, partition_info=None, **kw):
    graph = get_default_graph()
    store = _store(graph)
    if name in store:
        if reuse is False or reuse is None:
            raise ValueError(f"Variable {name} already exists, disallowed. Did you mean to set reuse=True "
                             "or reuse=tf.AUTO_REUSE in VarScope?")
        var = store[name]
        if shape is not None and not as_shape(shape).is_compatible_with(var.shape):
            raise ValueError(f"Trying to share variable {name}, but specified shape {as_shape(shape)} and "
                             f"found shape {var.shape}.")
        if dtype is not None and dtypes.as_dtype(dtype) is not var.dtype:
            raise ValueError(f"Trying to share variable {name}, but specified dtype {dtypes.as_dtype(dtype).name}"
                             f" and found dtype {var.dtype.name}.")
        return var
    if reuse is True:
        raise ValueError(f"Variable {name} does not exist, or was not created with tf.get_variable(). Did "
                         "you mean to set reuse=tf.AUTO_REUSE in VarScope?")
    dtype = dtypes.as_dtype(dtype)
    if initializer is None:
        if dtype.is_floating:
            initializer = init_ops.glorot_uniform_initializer()
        elif dtype.is_integer or dtype.is_unsigned or dtype.is_bool or dtype is dtypes.string:
            initializer = init_ops.Zeros()
        else:
            raise ValueError(f"An initializer for variable {name} of {dtype.name} is required")
    if isinstance(initializer, (Tensor, np.ndarray, list, int, float)) and not callable(initializer):
        if shape is not None and isinstance(initializer, Tensor):
            raise ValueError("If initializer is a constant, do not specify shape.")
        init_value = initializer
        dtype = None if isinstance(initializer, Tensor) else dtype
    else:
        if shape is None:
            raise ValueError(f"Shape of a new variable ({name}) must be fully defined, but instead was None.")
        shape = as_shape(shape)
        if not shape.is_fully_defined():
            raise ValueError(f"Shape of a new variable ({name}) must be fully defined, but instead was {shape}.")
        dims = shape.as_list()

        def init_value():
            try:
                return initializer(dims, dtype=dtype, partition_info=partition_info)
            except TypeError:
                return initializer(dims, dtype=dtype)

    with graph.name_scope(None):
        var = Variable(init_value, trainable=trainable, collections=collections, validate_shape=validate_shape,
                       name=name, dtype=dtype, constraint=constraint)
    store[name] = var
    if regularizer is not None:
        from ..framework.graph import name_scope as _ns

        with _ns(name + "/Regularizer/"):
            loss = regularizer(var.value())
        if loss is not None:
            graph.add_to_collection(GraphKeys.REGULARIZATION_LOSSES, loss)
    return var


def get_variable_scope() -> VariableScope:
    graph = get_default_graph()
    if not hasattr(graph, "_variable_scope"):
        graph._variable_scope = VariableScope(False)
    return graph._variable_scope


def _scope_counts(graph) -> dict:
    """Full scope name -> how many times it was opened (TF's ``variable_scopes_count``)."""
    if not hasattr(graph, "_variable_scope_counts"):
        graph._variable_scope_counts = {}
    return graph._variable_scope_counts


def _unique_scope_name(graph, outer: VariableScope, prefix: str) -> str:
    """``prefix``, or ``prefix_1``, ``prefix_2``... : the first not opened yet in ``outer``, counting every
    scope opened under that name, named or by ``default_name`` (TF's ``_get_unique_variable_scope``)."""
    counts = _scope_counts(graph)
    full = f"{outer.name}/{prefix}" if outer.name else prefix
    if not counts.get(full):
        return prefix
    idx = 1
    while counts.get(f"{full}_{idx}"):
        idx += 1
    return f"{prefix}_{idx}"


@contextlib.contextmanager
def variable_scope(name_or_scope=None, default_name=None, values=None, initializer=None, regularizer=None,
                   caching_device=None, partitioner=None, custom_getter=None, reuse=None, dtype=None,
                   use_resource=None, constraint=None, auxiliary_name_scope=True):
    """Open a variable scope (and a name scope of the same name) for ``get_variable``.

    Examples
    --------
    >>> import dataflow as tf
    >>> with tf.variable_scope("layer"):
    ...     w = tf.get_variable("w", [2], initializer=tf.zeros_initializer())
    >>> with tf.variable_scope("layer", reuse=True):
    ...     tf.get_variable("w") is w
    True
    """
    if name_or_scope is None and default_name is None:
        raise TypeError("If default_name is None then name_or_scope is required")
    graph = get_default_graph()
    if values:
        from ..framework.graph import graph_of

        graph = graph_of(values)
    with graph.as_default():
        outer = get_variable_scope()
        if isinstance(name_or_scope, VariableScope):
            full = name_or_scope.name
            op_scope = name_or_scope.original_name_scope
            base = name_or_scope
        else:
            base = outer
            if name_or_scope is not None:
                name = name_or_scope
            else:
                if reuse is True:
                    raise ValueError("reuse=True cannot be used without a name_or_scope")
                name = _unique_scope_name(graph, outer, default_name)
            full = f"{outer.name}/{name}" if outer.name else name
            op_scope = None
        # reuse=None/False inherits the enclosing scope's reuse (TF1); True and AUTO_REUSE apply here
        if reuse is True or reuse is AUTO_REUSE:
            new_reuse = reuse
        elif outer.reuse is True or outer.reuse is AUTO_REUSE:
            new_reuse = outer.reuse
        else:
            new_reuse = base.reuse if isinstance(name_or_scope, VariableScope) else False
        scope = VariableScope(
            new_reuse, full,
            initializer=initializer if initializer is not None else base.initializer,
            regularizer=regularizer if regularizer is not None else base.regularizer,
            custom_getter=custom_getter if custom_getter is not None else base.custom_getter,
            dtype=dtype if dtype is not None else base.dtype, name_scope=op_scope or "",
            partitioner=partitioner if partitioner is not None else base.partitioner,
            constraint=constraint if constraint is not None or op_scope is None else base.constraint)
        graph._variable_scope = scope
        # TF's scope counts: opening counts the full name; leaving a scope opened by name forgets the
        # counts of its subscopes (re-entering it numbers them afresh), leaving a re-entered
        # VariableScope object restores the counts as they were when it was entered.
        counts = _scope_counts(graph)
        counts[full] = counts.get(full, 0) + 1
        saved = dict(counts) if isinstance(name_or_scope, VariableScope) else None
        try:
            if not auxiliary_name_scope:
                yield scope
            elif op_scope:
                with graph.name_scope(op_scope):
                    yield scope
            else:
                # a default-named scope's name scope is made unique from default_name on its own (TF)
                leaf = default_name if name_or_scope is None else full.rsplit("/", 1)[-1]
                with graph.name_scope(leaf) as ns:
                    scope._name_scope = ns
                    yield scope
        finally:
            graph._variable_scope = outer
            if saved is not None:
                counts.clear()
                counts.update(saved)
            else:
                for k in counts:
                    if k.startswith(full + "/"):
                        counts[k] = 0


def get_variable(name, shape=None, dtype=None, initializer=None, regularizer=None, trainable=True,
                 collections=None, caching_device=None, partitioner=None, validate_shape=True,
                 use_resource=None, custom_getter=None, constraint=None, **kw) -> Variable:
    """``tf.get_variable``: the variable ``scope/name``, made or (with reuse) looked up.

    Examples
    --------
    >>> import dataflow as tf
    >>> c = tf.get_variable('my_var', shape=(1), initializer=tf.constant_initializer(5))
    >>> c.name
    'my_var:0'
    """
    return get_variable_scope().get_variable(
        name, shape=shape, dtype=dtype, initializer=initializer, regularizer=regularizer, trainable=trainable,
        collections=collections, partitioner=partitioner, validate_shape=validate_shape,
        custom_getter=custom_getter, constraint=constraint)


def variable_op_scope(values, name_or_scope=None, default_name=None, **kw):
    return variable_scope(name_or_scope, default_name=default_name, values=values, **kw)
