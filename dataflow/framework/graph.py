"""The dataflow graph: :class:`Graph`, :class:`Operation` and :class:`Tensor`.

A Graph is an append-only list of Operations. Each Operation has an op type (a key of
``registry.OP_DEFS``), input Tensors, control inputs, attrs, a device string and the user's line that
created it; its outputs are Tensors with a dtype and a static shape inferred when the op is made.
The graph keeps TensorFlow's naming (``scope/op``, ``op_1``...), name and control-dependency and device
scopes, collections, and a ``version`` that bumps on every change so sessions can cache plans.
"""

from __future__ import annotations

import contextlib
import os
import sys
import threading
from typing import Any, Iterable

from . import device as device_lib
from . import dtypes as dtypes_lib
from . import registry
from .tensor_shape import TensorShape, as_shape

# Frames in these folders are the library's own; an op's traceback starts at the first frame outside.
_LIB_DIRS = tuple(
    os.path.dirname(os.path.dirname(os.path.abspath(p))) + os.sep
    for p in (__file__,)
) + tuple(
    os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), d) + os.sep
    for d in ("backends", "pipelines")
)


def _user_traceback(limit: int = 8):
    """The creating call stack as ``[(filename, lineno, function)]``, innermost last, library frames cut."""
    frame = sys._getframe(2)
    while frame is not None and frame.f_code.co_filename.startswith(_LIB_DIRS):
        frame = frame.f_back
    out = []
    while frame is not None and len(out) < limit:
        out.append((frame.f_code.co_filename, frame.f_lineno, frame.f_code.co_name))
        frame = frame.f_back
    out.reverse()
    return out


class GraphKeys:
    """Standard collection names (``tf.GraphKeys``)."""

    GLOBAL_VARIABLES = "variables"
    VARIABLES = "variables"
    LOCAL_VARIABLES = "local_variables"
    MODEL_VARIABLES = "model_variables"
    TRAINABLE_VARIABLES = "trainable_variables"
    SUMMARIES = "summaries"
    QUEUE_RUNNERS = "queue_runners"
    TABLE_INITIALIZERS = "table_initializer"
    ASSET_FILEPATHS = "asset_filepaths"
    MOVING_AVERAGE_VARIABLES = "moving_average_variables"
    REGULARIZATION_LOSSES = "regularization_losses"
    CONCATENATED_VARIABLES = "concatenated_variables"
    SAVERS = "savers"
    WEIGHTS = "weights"
    BIASES = "biases"
    ACTIVATIONS = "activations"
    UPDATE_OPS = "update_ops"
    LOSSES = "losses"
    TRAIN_OP = "train_op"
    INIT_OP = "init_op"
    LOCAL_INIT_OP = "local_init_op"
    READY_OP = "ready_op"
    SUMMARY_OP = "summary_op"
    GLOBAL_STEP = "global_step"
    EVAL_STEP = "eval_step"
    COND_CONTEXT = "cond_context"
    WHILE_CONTEXT = "while_context"
    METRIC_VARIABLES = "metric_variables"


class _OperatorMixin:
    """Python operators on tensor-like objects; ``dataflow.ops.math`` fills in the methods."""

    __array_ufunc__ = None  # numpy_array * tensor defers to tensor.__rmul__
    __array_priority__ = 100


class Tensor(_OperatorMixin):
    """A symbolic value: output ``value_index`` of ``op``.

    Examples
    --------
    >>> import dataflow as tf
    >>> with tf.Graph().as_default():
    ...     x = tf.placeholder(tf.float32, [None, 3], name="x")
    >>> x.name, x.get_shape().as_list()
    ('x:0', [None, 3])
    """

    __slots__ = ("op", "value_index", "dtype", "_shape", "_is_ref")

    def __init__(self, op: "Operation", value_index: int, dtype, shape, is_ref: bool = False):
        self.op = op
        self.value_index = value_index
        self.dtype = dtype
        self._shape = as_shape(shape)
        self._is_ref = is_ref

    @property
    def name(self) -> str:
        return f"{self.op.name}:{self.value_index}"

    @property
    def graph(self) -> "Graph":
        return self.op.graph

    @property
    def device(self) -> str:
        return self.op.device

    @property
    def shape(self) -> TensorShape:
        return self._shape

    def get_shape(self) -> TensorShape:
        return self._shape

    def set_shape(self, shape) -> None:
        """Merge ``shape`` into the static shape; ValueError if incompatible."""
        self._shape = self._shape.merge_with(shape)
        self.op.graph._bump()  # feeds are checked against the static shape: sessions plan anew

    def consumers(self) -> list:
        return [op for op in self.op.graph._consumers.get(self, ())]

    def eval(self, feed_dict=None, session=None):
        """Run the default (or given) session to compute this tensor."""
        from ..runtime.session import _session_for

        return _session_for(session, self.graph).run(self, feed_dict)

    def __repr__(self):
        return f"<dataflow.Tensor '{self.name}' shape={self._shape} dtype={self.dtype.name}>"

    def __hash__(self):
        return id(self)

    def __eq__(self, other):  # TF1: tensors compare by identity
        return self is other

    def __ne__(self, other):
        return self is not other

    def __bool__(self):
        raise TypeError("Using a `tf.Tensor` as a Python `bool` is not allowed. Use `if t is not None:` "
                        "instead of `if t:` to test if a tensor is defined.")

    def __iter__(self):
        shape = self._shape
        if shape.ndims is None or shape[0].value is None:
            raise TypeError("'Tensor' object is not iterable: its first dimension is unknown.")
        for i in range(shape[0].value):
            yield self[i]

    def __len__(self):
        raise TypeError(f"len is not well defined for symbolic Tensors ({self.name}). Use tf.shape.")


class Operation:
    """A node of the graph: an op type applied to input tensors, with attrs and a device."""

    def __init__(self, graph: "Graph", op_type: str, name: str, inputs: list, attrs: dict,
                 control_inputs: list, device: str, traceback):
        self.graph = graph
        self.type = op_type
        self.name = name
        self._inputs = list(inputs)
        self.attrs = attrs
        self._control_inputs = list(control_inputs)
        self.device = device
        self.traceback = traceback
        self.outputs: list[Tensor] = []
        self._id = 0
        self.op_def = registry.get(op_type)

    @property
    def inputs(self) -> list:
        return list(self._inputs)

    @property
    def control_inputs(self) -> list:
        return list(self._control_inputs)

    @property
    def node_def(self):
        return {"name": self.name, "op": self.type, "input": [t.name for t in self._inputs]
                + ["^" + op.name for op in self._control_inputs], "device": self.device,
                "attr": dict(self.attrs)}

    def get_attr(self, name: str):
        try:
            return self.attrs[name]
        except KeyError:
            raise ValueError(f"Operation {self.name!r} has no attr named {name!r}.") from None

    def values(self):
        return tuple(self.outputs)

    def _add_control_input(self, op: "Operation") -> None:
        if op not in self._control_inputs:
            self._control_inputs.append(op)
            self.graph._bump()

    def _add_control_inputs(self, ops) -> None:
        for op in ops:
            self._add_control_input(op)

    def run(self, feed_dict=None, session=None) -> None:
        """Run this op in the default (or given) session."""
        from ..runtime.session import _session_for

        _session_for(session, self.graph).run(self, feed_dict)

    def __repr__(self):
        return f"<dataflow.Operation '{self.name}' type={self.type}>"


class Graph:
    """A TF1 computation graph.

    Examples
    --------
    >>> import dataflow as tf
    >>> g = tf.Graph()
    >>> with g.as_default():
    ...     c = tf.constant(1.0)
    >>> c.graph is g
    True
    """

    def __init__(self):
        self._ops: list[Operation] = []
        self._by_name: dict[str, Operation] = {}
        self._names_in_use: dict[str, int] = {}
        self._name_stack = ""
        self._control_stack: list[list] = []
        self._device_stack: list = []
        self._collections: dict[str, list] = {}
        self._consumers: dict[Tensor, list] = {}
        self._finalized = False
        self.version = 0
        self.seed = None
        self._last_id = 0
        self._gradient_override_map: dict[str, str] = {}

    # ---- default graph -------------------------------------------------------------------
    def as_default(self):
        return _default_graph_stack.get_controller(self)

    # ---- ops -----------------------------------------------------------------------------
    def _bump(self):
        self.version += 1

    def create_op(self, op_type: str, inputs: Iterable[Tensor], attrs: dict | None = None,
                  name: str | None = None, control_inputs=()) -> Operation:
        """Add an op; its outputs' dtypes and shapes come from the op's ``infer`` function."""
        if self._finalized:
            raise RuntimeError("Graph is finalized and cannot be modified.")
        inputs = list(inputs)
        for t in inputs:
            if not isinstance(t, Tensor):
                raise TypeError(f"Input to {op_type} must be a Tensor, got {t!r}")
            if t.graph is not self:
                raise ValueError(f"Tensor {t.name} must be from the same graph as the {op_type} op.")
        name = name or op_type
        name = name[:-1] if name.endswith("/") else self.unique_name(name)
        controls = list(control_inputs)
        for frame in self._control_stack:
            for c in frame:
                if c not in controls:
                    controls.append(c)
        op = Operation(self, op_type, name, inputs, dict(attrs or {}), controls, "", _user_traceback())
        op._gradient_override = self._gradient_override_map.get(op_type)
        refs = op.op_def.ref_inputs
        for j, t in enumerate(inputs):
            if j in refs and not t._is_ref:
                from .errors import describe_op

                raise TypeError(f"Input {j} of '{op_type}' Op requires l-value input (a variable), got "
                                f"{t.name}{describe_op(op)}")
        if self._device_stack:
            op.device = self._current_device(op)
        try:
            specs = op.op_def.infer(op)
        except (ValueError, TypeError) as e:
            from .errors import describe_op

            raise type(e)(f"{e} (op {op_type} '{name}'){describe_op(op)}") from None
        # infer gives (dtype, shape) per output, or (dtype, shape, True) for a variable's ref output
        op.outputs = [Tensor(op, i, spec[0], spec[1], len(spec) > 2 and spec[2])
                      for i, spec in enumerate(specs)]
        self._last_id += 1
        op._id = self._last_id
        self._ops.append(op)
        self._by_name[name] = op
        for t in inputs:
            self._consumers.setdefault(t, []).append(op)
        self._bump()
        return op

    def get_operations(self) -> list:
        return list(self._ops)

    def get_operation_by_name(self, name: str) -> Operation:
        if not isinstance(name, str):
            raise TypeError(f"Operation names are strings, got {name!r}")
        try:
            return self._by_name[name]
        except KeyError:
            raise KeyError(f"The name '{name}' refers to an Operation not in the graph.") from None

    def get_tensor_by_name(self, name: str) -> Tensor:
        op_name, sep, index = name.rpartition(":")
        if not sep or not index.isdigit():
            raise ValueError(f"The name '{name}' looks like an (invalid) Operation name, not a Tensor. "
                             "Tensor names must be of the form \"<op_name>:<output_index>\".")
        op = self._by_name.get(op_name)
        if op is None:
            raise KeyError(f"The name '{name}' refers to a Tensor which does not exist. "
                           f"The operation, '{op_name}', does not exist in the graph.")
        if int(index) >= len(op.outputs):
            raise KeyError(f"The name '{name}' refers to a Tensor which does not exist. The operation, "
                           f"'{op_name}', exists but only has {len(op.outputs)} outputs.")
        return op.outputs[int(index)]

    def as_graph_element(self, obj, allow_tensor=True, allow_operation=True):
        """Resolve a fetch: a Tensor, Operation, tensor-like (a Variable) or a name."""
        if isinstance(obj, str):
            if ":" in obj and allow_tensor:
                return self.get_tensor_by_name(obj)
            if allow_operation:
                return self.get_operation_by_name(obj)
            raise ValueError(f"Name {obj!r} names an Operation, not a Tensor.")
        if isinstance(obj, (Tensor, Operation)):
            if obj.graph is not self:
                raise ValueError(f"{obj!r} is not an element of this graph.")
            return obj
        conv = getattr(obj, "_as_graph_element", None)
        if conv is not None:
            return self.as_graph_element(conv())
        raise TypeError(f"Can not convert a {type(obj).__name__} into a Tensor or Operation.")

    def finalize(self) -> None:
        self._finalized = True

    @property
    def finalized(self) -> bool:
        return self._finalized

    def _unsafe_unfinalize(self):
        self._finalized = False

    # ---- names ---------------------------------------------------------------------------
    def unique_name(self, name: str, mark_as_used: bool = True) -> str:
        """``name`` under the current name scope, suffixed ``_1``, ``_2``... if taken (TF's rule)."""
        if self._name_stack:
            name = self._name_stack + "/" + name
        key = name.lower()
        i = self._names_in_use.get(key, 0)
        if mark_as_used:
            self._names_in_use[key] = i + 1
        if i > 0:
            base = key
            while key in self._names_in_use:
                key = f"{base}_{i}"
                i += 1
            if mark_as_used:
                self._names_in_use[key] = 1
            name = f"{name}_{i - 1}"
        return name

    def get_name_scope(self) -> str:
        return self._name_stack

    @contextlib.contextmanager
    def name_scope(self, name):
        """Open a name scope: ``"ns"`` becomes ``ns/`` (``ns_1/`` when taken); ``"a/b/"`` is absolute."""
        old = self._name_stack
        if name is None or name == "":
            new = ""
        elif isinstance(name, str) and name.endswith("/"):
            new = name[:-1]
        else:
            new = self.unique_name(name)
        self._name_stack = new
        try:
            yield (new + "/") if new else ""
        finally:
            self._name_stack = old

    # ---- control dependencies and devices -----------------------------------------------
    @contextlib.contextmanager
    def control_dependencies(self, control_inputs):
        """Ops made inside run after ``control_inputs``; ``None`` clears the enclosing ones."""
        if control_inputs is None:
            saved, self._control_stack = self._control_stack, []
            try:
                yield
            finally:
                self._control_stack = saved
            return
        ops = []
        for c in control_inputs:
            c = getattr(c, "op", c) if not isinstance(c, Operation) else c
            if hasattr(c, "_as_graph_element") and not isinstance(c, Operation):
                c = c._as_graph_element()
                c = getattr(c, "op", c)
            if not isinstance(c, Operation):
                raise TypeError(f"Control input must be an Operation or Tensor: {c!r}")
            ops.append(c)
        self._control_stack.append(ops)
        try:
            yield
        finally:
            self._control_stack.pop()

    @contextlib.contextmanager
    def device(self, device_name_or_function):
        """Ops made inside get this device, merged with enclosing device scopes."""
        self._device_stack.append(device_name_or_function)
        try:
            yield
        finally:
            self._device_stack.pop()

    def _current_device(self, op) -> str:
        """The device of ``op`` from the device scopes, applied innermost first as TF1 does: a string
        spec fills in the fields inner scopes left unset, a function's result replaces the device so
        far (it sees it as ``op.device``), and ``tf.device(None)`` stops the outer scopes."""
        current = device_lib.DeviceSpec()
        for d in reversed(self._device_stack):
            if d is None:
                break
            if callable(d):
                op.device = current.to_string()
                d = d(op)
                current = device_lib.DeviceSpec.from_string(d.to_string() if isinstance(
                    d, device_lib.DeviceSpec) else d or "")
            else:
                spec = d if isinstance(d, device_lib.DeviceSpec) else device_lib.DeviceSpec.from_string(d)
                current = spec.merge_from(current)
        return current.to_string()

    @contextlib.contextmanager
    def gradient_override_map(self, op_type_map: dict):
        """Use ``tf.RegisterGradient`` rules for ops of the given types made inside."""
        saved = dict(self._gradient_override_map)
        self._gradient_override_map.update(op_type_map)
        try:
            yield
        finally:
            self._gradient_override_map = saved

    @contextlib.contextmanager
    def colocate_with(self, op, ignore_existing=False):
        target = getattr(op, "op", op)
        dev = getattr(target, "device", "")
        with self.device(dev or None) if dev else contextlib.nullcontext():
            yield

    # ---- collections ---------------------------------------------------------------------
    def add_to_collection(self, name: str, value) -> None:
        self._collections.setdefault(name, []).append(value)

    def add_to_collections(self, names, value) -> None:
        for n in ([names] if isinstance(names, str) else set(names)):
            self.add_to_collection(n, value)

    def get_collection(self, name: str, scope: str | None = None) -> list:
        items = self._collections.get(name, [])
        if scope is None:
            return list(items)
        import re

        pattern = re.compile(scope)
        # as TF: items without a name are left out of a scoped query
        return [x for x in items if isinstance(getattr(x, "name", None), str) and pattern.match(x.name)]

    def get_collection_ref(self, name: str) -> list:
        return self._collections.setdefault(name, [])

    def clear_collection(self, name: str) -> None:
        self._collections.pop(name, None)

    def get_all_collection_keys(self) -> list:
        return [k for k, v in self._collections.items() if v]

    @property
    def collections(self):
        return self.get_all_collection_keys()

    # ---- misc ----------------------------------------------------------------------------
    def is_feedable(self, tensor) -> bool:
        return True

    def is_fetchable(self, obj) -> bool:
        return True

    def __repr__(self):
        return f"<dataflow.Graph with {len(self._ops)} ops>"


class _DefaultGraphStack(threading.local):
    def __init__(self):
        self.stack: list[Graph] = []
        self.global_default: Graph | None = None

    def get_default(self) -> Graph:
        if self.stack:
            return self.stack[-1]
        if self.global_default is None:
            self.global_default = Graph()
        return self.global_default

    @contextlib.contextmanager
    def get_controller(self, graph: Graph):
        self.stack.append(graph)
        try:
            yield graph
        finally:  # the innermost entry: a graph may be on the stack twice (a loop body's variables)
            for i in range(len(self.stack) - 1, -1, -1):
                if self.stack[i] is graph:
                    del self.stack[i]
                    break

    def reset(self):
        if self.stack:
            raise AssertionError("Do not use tf.reset_default_graph() to clear nested graphs.")
        self.global_default = None


_default_graph_stack = _DefaultGraphStack()


def get_default_graph() -> Graph:
    """The graph new ops go into (``tf.get_default_graph``)."""
    return _default_graph_stack.get_default()


def reset_default_graph() -> None:
    """Clear the global default graph (``tf.reset_default_graph``)."""
    from ..runtime import session as _session

    _session._default_session_stack.clear_if_graph(get_default_graph())
    _default_graph_stack.reset()


# ---- conversion to tensors -----------------------------------------------------------------
_CONVERSION_FUNCTIONS: list = []  # (type, fn(value, dtype, name, as_ref) -> Tensor)


def register_tensor_conversion_function(base_type, conversion_func, priority: int = 100) -> None:
    _CONVERSION_FUNCTIONS.append((priority, base_type, conversion_func))
    _CONVERSION_FUNCTIONS.sort(key=lambda x: x[0])


def convert_to_tensor(value, dtype=None, name=None, preferred_dtype=None, as_ref=False) -> Tensor:
    """Return ``value`` as a Tensor: tensors pass through, Variables read, other values become Const."""
    if isinstance(value, Tensor):
        if dtype is not None and value.dtype is not dtypes_lib.as_dtype(dtype):
            raise ValueError(f"Tensor conversion requested dtype {dtypes_lib.as_dtype(dtype).name} for "
                             f"Tensor with dtype {value.dtype.name}: {value!r}")
        return value
    for _, base_type, fn in _CONVERSION_FUNCTIONS:
        if isinstance(value, base_type):
            return fn(value, dtype=dtype, name=name, as_ref=as_ref)
    if isinstance(value, Operation):
        raise TypeError(f"Can't convert Operation '{value.name}' to Tensor (target dtype={dtype!r})")
    from ..ops.constant import constant

    if dtype is None and preferred_dtype is not None:
        try:
            return constant(value, dtype=preferred_dtype, name=name or "Const")
        except (TypeError, ValueError):
            pass
    return constant(value, dtype=dtype, name=name or "Const")


def convert_n_to_tensor(values, dtype=None, name=None) -> list:
    return [convert_to_tensor(v, dtype=dtype) for v in values]


def graph_of(values) -> Graph:
    """The graph that the tensors among ``values`` belong to, else the default graph."""
    default = get_default_graph()
    for v in values:
        g = getattr(v, "graph", None)
        if isinstance(g, Graph):  # inside a function body, ops on outer tensors go to the body
            return default if getattr(default, "encloses", None) and default.encloses(g) else g
    return default


# ---- scopes as free functions (tf.name_scope, tf.control_dependencies, tf.device) ----------
@contextlib.contextmanager
def name_scope(name, default_name=None, values=None):
    """``tf.name_scope(name, default_name, values)``; yields the scope string ending with ``/``."""
    graph = graph_of(values or ())
    n = name if name is not None else default_name
    if n is None and name is None and default_name is None:
        with graph.name_scope(None) as scope:
            yield scope
        return
    with graph.as_default(), graph.name_scope(n) as scope:
        yield scope


def control_dependencies(control_inputs):
    return get_default_graph().control_dependencies(control_inputs)


def device(device_name_or_function):
    return get_default_graph().device(device_name_or_function)


def add_to_collection(name, value):
    get_default_graph().add_to_collection(name, value)


def add_to_collections(names, value):
    get_default_graph().add_to_collections(names, value)


def get_collection(key, scope=None):
    return get_default_graph().get_collection(key, scope)


def get_collection_ref(key):
    return get_default_graph().get_collection_ref(key)


def make_op(op_type: str, inputs, attrs: dict | None = None, name: str | None = None) -> Operation:
    """Create ``op_type`` in the inputs' graph (the default graph if none), inputs already tensors."""
    return graph_of(inputs).create_op(op_type, inputs, attrs, name)


def op_output(op_type: str, inputs, attrs: dict | None = None, name: str | None = None) -> Tensor:
    """``make_op(...).outputs[0]``: the usual one-output op."""
    return graph_of(inputs).create_op(op_type, inputs, attrs, name).outputs[0]


def is_tensor_like(x: Any) -> bool:
    return isinstance(x, Tensor) or hasattr(x, "_as_graph_element")
