"""Import a ``GraphDef`` (ours or TensorFlow's) into a graph: ``tf.import_graph_def`` and the graph half
of ``tf.train.import_meta_graph``.

Each ``NodeDef`` becomes ``graph.create_op(node.op, inputs, attrs)``: the op type is looked up in the
registry (an unknown type is a ``ValueError`` naming it and the node), the attrs are decoded from their
``AttrValue`` messages and the op's own shape function runs, as when the graph was first built. Nodes are
created in a topological order of their data and control inputs (a GraphDef need not be sorted).

Both dialects import:

* **ours** (``dataflow.framework.graph_def`` wrote it): attrs are ours already. Private attrs make
  the round trip exact: ``_df_none`` lists the attrs whose value was None, ``_df_added`` those added
  for TF's readers (a ``T``), ``_df_repr`` those written as their ``repr`` (decoded with ``ast.literal_eval``; a value that is no literal, such as a Python
  function, cannot be imported and says so).
* **TensorFlow's**: a few of TF's ops take as an *input* what is an *attr* here, known when the graph is
  built (a reduction's axes, ``Transpose``'s perm, ``ConcatV2``'s axis...). A node of such a type
  without our attr is TF's: when that input is a constant it becomes the attr (:data:`_INPUT_ATTRS`); a
  reduction over computed axes becomes ``ReduceAxes``. Renamed types (``AddV2`` -> ``Add``) and attrs
  (``keep_dims`` -> ``keepdims``) are mapped; attrs whose names start with ``_`` (colocation,
  ``_output_shapes``) are dropped.
"""

from __future__ import annotations

import ast

import numpy as np

from . import dtypes, registry
from .tensor_shape import TensorShape

_TYPE_ALIASES = {"AddV2": "Add"}
_RESOURCE_HINT = ("; resource variables (TF 2's default) are not: build the graph with reference variables "
                  "(tf.compat.v1.disable_v2_behavior(), or get_variable(..., use_resource=False))")
_HINTS = {t: _RESOURCE_HINT for t in ("VarHandleOp", "ReadVariableOp", "AssignVariableOp", "VarIsInitializedOp")}
_REDUCTIONS = ("Sum", "Mean", "Max", "Min", "Prod", "Any", "All")


def _axes(v) -> tuple:
    return tuple(int(a) for a in np.asarray(v).reshape(-1))


def _scalar(v) -> int:
    return int(np.asarray(v).reshape(()))


# TF op type -> (index of the input that is our attr (-1: the last), our attr name, converter)
_INPUT_ATTRS = {**{t: (1, "axis", _axes) for t in _REDUCTIONS},
                "Transpose": (1, "perm", _axes), "ExpandDims": (1, "axis", _scalar),
                "ConcatV2": (-1, "axis", _scalar), "GatherV2": (2, "axis", _scalar),
                "ArgMax": (1, "axis", _scalar), "ArgMin": (1, "axis", _scalar),
                "Split": (0, "axis", _scalar)}
_ATTR_RENAMES = {"keep_dims": "keepdims"}


# ---- AttrValue and TensorProto decoding ---------------------------------------------------------
def _shape(proto) -> TensorShape:
    if proto.unknown_rank:
        return TensorShape(None)
    return TensorShape([None if d.size < 0 else d.size for d in proto.dim])


_VAL_FIELDS = {"float32": "float_val", "float64": "double_val", "int32": "int_val", "int16": "int_val",
               "int8": "int_val", "uint8": "int_val", "uint16": "int_val", "int64": "int64_val",
               "bool": "bool_val", "uint32": "uint32_val", "uint64": "uint64_val", "float16": "half_val",
               "complex64": "scomplex_val", "complex128": "dcomplex_val"}


def tensor_value(proto) -> np.ndarray:
    """The NumPy value of any ``TensorProto``: ``tensor_content`` bytes or the typed ``*_val`` fields
    (TF writes a constant fill as one value, which is repeated to the shape's size)."""
    from .graph_def import dtype_from_enum

    dt = dtype_from_enum(proto.dtype)
    shape = [d.size for d in proto.tensor_shape.dim]
    size = int(np.prod(shape, dtype=np.int64))
    if dt is dtypes.string:
        vals = list(proto.string_val)
        arr = np.empty(size, dtype=object)
        if vals:
            arr[:] = (vals + [vals[-1]] * size)[:size]
        return arr.reshape(shape)
    npd = np.dtype(dt.as_numpy_dtype)
    if proto.tensor_content:
        le = npd.newbyteorder("<")
        return np.frombuffer(proto.tensor_content, dtype=le).astype(npd, copy=True).reshape(shape)
    field = _VAL_FIELDS.get(npd.name)
    if field is None:
        raise ValueError(f"Cannot decode a TensorProto of dtype {dt.name}")
    vals = list(getattr(proto, field))
    if npd.name == "float16":
        vals = np.array(vals, np.uint16).view(np.float16)
    elif npd.kind == "c":
        vals = np.array(vals[0::2]) + 1j * np.array(vals[1::2])
    vals = np.asarray(vals, dtype=npd)
    if vals.size == 0:
        return np.zeros(shape, npd)
    if vals.size < size:
        vals = np.concatenate([vals, np.repeat(vals[-1:], size - vals.size)])
    return vals[:size].reshape(shape)


def _decode_scalar(kind: str, v):
    if kind == "s":
        try:
            return v.decode()
        except UnicodeDecodeError:
            return bytes(v)
    if kind == "type":
        return dtypes.as_dtype(int(v))
    if kind == "shape":
        return _shape(v)
    if kind == "tensor":
        return tensor_value(v)
    return {"b": bool, "i": int, "f": float}[kind](v)


def attr_value(av):
    """Our value of an ``AttrValue`` (a list becomes a tuple; an empty AttrValue, None)."""
    kind = av.WhichOneof("value")
    if kind is None:
        return None
    if kind == "list":
        for field in ("s", "i", "f", "b", "type", "shape", "tensor"):
            items = getattr(av.list, field)
            if len(items):
                return tuple(_decode_scalar(field, x) for x in items)
        return ()
    if kind in ("func", "placeholder"):
        raise ValueError(f"attr kind {kind!r} (functions) cannot be imported")
    return _decode_scalar(kind, getattr(av, kind))


# ---- nodes -----------------------------------------------------------------------------------
def _split_input(name: str):
    if name.startswith("^"):
        return name[1:], None
    op, sep, index = name.rpartition(":")
    if sep and index.isdigit():
        return op, int(index)
    return name, 0


def _topological(nodes) -> list:
    by_name = {n.name: n for n in nodes}
    order, state = [], {}
    for root in nodes:
        if root.name in state:
            continue
        stack = [(root, False)]
        while stack:
            node, done = stack.pop()
            if done:
                state[node.name] = 2
                order.append(node)
                continue
            if state.get(node.name) == 2:
                continue
            if state.get(node.name) == 1:
                raise ValueError(f"GraphDef has a cycle through node '{node.name}' (loops written by "
                                 f"TensorFlow's while_loop cannot be imported)")
            state[node.name] = 1
            stack.append((node, True))
            for inp in node.input:
                dep = by_name.get(_split_input(inp)[0])
                if dep is not None and state.get(dep.name) != 2:
                    if state.get(dep.name) == 1:
                        raise ValueError(f"GraphDef has a cycle through node '{dep.name}' (loops written "
                                         f"by TensorFlow's while_loop cannot be imported)")
                    stack.append((dep, False))
    return order


def _node_attrs(node) -> dict:
    none = set(attr_value(node.attr["_df_none"])) if "_df_none" in node.attr else set()
    reprs = set(attr_value(node.attr["_df_repr"])) if "_df_repr" in node.attr else set()
    added = set(attr_value(node.attr["_df_added"])) if "_df_added" in node.attr else set()
    attrs = {}
    for key, av in node.attr.items():
        if key.startswith("_") or key in added:
            continue
        try:
            value = attr_value(av)
        except ValueError as e:
            raise ValueError(f"Cannot import node '{node.name}' (op {node.op}): attr {key!r}: {e}") from None
        if key in reprs:
            try:
                value = ast.literal_eval(value)
            except (ValueError, SyntaxError):
                raise ValueError(f"Cannot import node '{node.name}' (op {node.op}): attr {key!r} was exported as "
                                 f"the repr of a Python object ({value[:60]}...), which cannot be rebuilt: "
                                 f"loop and cond bodies, py_func functions and datasets do not import") from None
        attrs[_ATTR_RENAMES.get(key, key)] = value
    attrs.update((k, None) for k in none)
    return attrs


def _const_value(t):
    if t.op.type == "Const":
        return t.op.attrs["value"]
    return None


def _tf_node(op_type: str, inputs: list, attrs: dict, node):
    """TF's form of a node -> ours: (type, inputs, attrs)."""
    op_type = _TYPE_ALIASES.get(op_type, op_type)
    spec = _INPUT_ATTRS.get(op_type)
    if spec is not None and spec[1] not in attrs and len(inputs) > 1:
        index, attr, convert = spec
        index = index % len(inputs)
        value = _const_value(inputs[index])
        rest = inputs[:index] + inputs[index + 1:]
        if value is None:
            if op_type in _REDUCTIONS:
                return "ReduceAxes", inputs, {"fn": op_type, "keepdims": bool(attrs.get("keepdims", False))}
            raise ValueError(f"Cannot import node '{node.name}' (op {node.op}): its input {index} must be a "
                             f"constant here")
        attrs[attr] = convert(value)
        inputs = rest
    if op_type in _REDUCTIONS:
        attrs.setdefault("keepdims", False)
    if op_type == "GatherV2" and attrs.pop("batch_dims", 0):
        raise ValueError(f"Cannot import node '{node.name}': GatherV2 with batch_dims is not supported")
    if op_type == "Unpack":
        attrs.setdefault("axis", 0)
    return op_type, inputs, attrs


def import_nodes(graph, graph_def, *, prefix: str = "", input_map=None, skip=None) -> dict:
    """Create the nodes of ``graph_def`` in ``graph``; return ``{node name: Operation}``.

    Parameters
    ----------
    prefix : str
        Prepended to every node name (``"import/"``).
    input_map : dict, optional
        ``{"name:0": Tensor}``: tensors of ``graph`` used in place of the GraphDef's.
    skip : callable, optional
        ``skip(node) -> bool``: nodes not imported (a consumer of one is an error).
    """
    from ..ops.graph_compat import COMPOSITES

    input_map = dict(input_map or {})
    made: dict = {}
    for node in _topological(list(graph_def.node)):
        if skip is not None and skip(node):
            continue
        op_type = node.op
        if _TYPE_ALIASES.get(op_type, op_type) not in registry.OP_DEFS and op_type not in COMPOSITES:
            hint = _HINTS.get(op_type, "")
            raise ValueError(f"Cannot import node '{node.name}': op type '{op_type}' is not supported by "
                             f"dataflow{hint}")
        inputs, controls = [], []
        for inp in node.input:
            src, index = _split_input(inp)
            key = f"{src}:{index}"
            if index is not None and key in input_map:
                inputs.append(input_map[key])
                continue
            if src not in made:
                raise ValueError(f"Cannot import node '{node.name}': its input '{inp}' is not in the graph")
            if index is None:
                controls.append(made[src])
            else:
                inputs.append(made[src].outputs[index])
        name = prefix + node.name
        if graph.unique_name(name, mark_as_used=False) != name:
            raise ValueError(f"Cannot import node '{node.name}': the name '{name}' is already used")
        if op_type in COMPOSITES and op_type not in registry.OP_DEFS:
            op = _composite(graph, node, name, inputs, controls)
        else:
            op_type, inputs, attrs = _tf_node(op_type, inputs, _node_attrs(node), node)
            graph.unique_name(name)
            op = graph.create_op(op_type, inputs, attrs, name=name + "/", control_inputs=controls)
        op.device = node.device
        made[node.name] = op
    return made


def _composite(graph, node, name: str, inputs: list, controls: list):
    """A TF op that is a composite here (``ops.graph_compat.COMPOSITES``), built under ``name/impl`` and
    passed through one op named ``name`` (Identity, or IdentityN for several outputs)."""
    from ..ops.graph_compat import COMPOSITES

    with graph.name_scope(name + "/impl/"), graph.control_dependencies(controls):
        try:
            outs = COMPOSITES[node.op](inputs, _node_attrs(node))
        except ValueError as e:
            raise ValueError(f"Cannot import node '{node.name}' (op {node.op}): {e}") from None
    graph.unique_name(name)
    return graph.create_op("Identity" if len(outs) == 1 else "IdentityN", outs, {}, name=name + "/")


def import_graph_def(graph_def, input_map=None, return_elements=None, name=None, op_dict=None,
                     producer_op_list=None):
    """Import a ``GraphDef`` into the default graph (``tf.import_graph_def``).

    Parameters
    ----------
    graph_def : GraphDef
        TensorFlow's protobuf (written by TensorFlow or by ``Graph.as_graph_def``).
    input_map : dict, optional
        ``{"name:0": Tensor}``: tensors of the default graph to use in place of the GraphDef's.
    return_elements : list of str, optional
        Names of operations (``"op"``) or tensors (``"op:0"``) to return.
    name : str, optional
        Prefix of the imported names (default ``"import"``; ``""`` for none).

    Returns
    -------
    list or None
        The operations and tensors named in ``return_elements``.

    Examples
    --------
    >>> import dataflow as tf
    >>> with tf.Graph().as_default() as g1:
    ...     y = tf.multiply(tf.constant(3.0, name="c"), 2.0, name="y")
    >>> with tf.Graph().as_default():
    ...     [t] = tf.import_graph_def(g1.as_graph_def(), return_elements=["y:0"])
    ...     tf.Session().run(t)
    6.0
    """
    from .graph import get_default_graph

    graph = get_default_graph()
    prefix = "import" if name is None else name
    if prefix:
        prefix = graph.unique_name(prefix) + "/"
    input_map = {(k if ":" in k else k + ":0"): v for k, v in (input_map or {}).items()}
    import_nodes(graph, graph_def, prefix=prefix, input_map=input_map)
    if return_elements is None:
        return None
    return [graph.as_graph_element(prefix + e) for e in return_elements]

