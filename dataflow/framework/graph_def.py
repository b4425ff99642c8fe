"""Export to TensorFlow's ``GraphDef`` protobuf: ``Graph.as_graph_def`` and the runtime's partition graphs.

A GraphDef is a flat list of ``NodeDef``s. Each names its op (``scope/name``), its op type (TF's names,
which are ours), its inputs as strings (``"x"`` for output 0 of op ``x``, ``"x:1"`` for output 1,
``"^x"`` for a control input, listed last), its device and its attrs as ``AttrValue`` messages:

=================================  ==============================================
our attr value                     AttrValue field
=================================  ==============================================
``DType``                          ``type`` (the ``DT_*`` enum)
``TensorShape``                    ``shape`` (``unknown_rank``, dims of size -1)
``np.ndarray`` (a Const's value)   ``tensor`` (``TensorProto``, raw bytes)
bool / int / float / str, bytes    ``b`` / ``i`` / ``f`` / ``s``
list or tuple of one such kind     ``list``
anything else (a fused program)    ``s``: its ``repr``
=================================  ==============================================

Private attrs let :mod:`dataflow.framework.importer` rebuild our ops exactly (TF ignores ``_`` attrs):
``_df_none`` names the attrs whose value was None (left out above), ``_df_repr`` those written as a
``repr``, ``_df_added`` the ``T`` added for TF's readers.

:func:`ops_to_graph_def` converts any list of operations, not only a whole graph: the runtime exports
the ops a plan actually ran (after rewriting) as ``RunMetadata.partition_graphs``. The protobuf
classes are TensorBoard's copies of TF's (``tensorboard.compat.proto``), imported when first used.
"""

from __future__ import annotations

import numpy as np

from . import dtypes
from .tensor_shape import TensorShape

PRODUCER_VERSION = 27  # TF 1.15's GraphDef producer version



def _protos():
    try:
        from tensorboard.compat.proto import (attr_value_pb2, graph_pb2, node_def_pb2, tensor_pb2,
                                              tensor_shape_pb2, types_pb2)
    except ImportError as e:  # pragma: no cover - tensorboard is a core dependency
        raise ImportError("GraphDef export needs the 'tensorboard' and 'protobuf' packages: "
                          "pip install tensorboard protobuf") from e
    return attr_value_pb2, graph_pb2, node_def_pb2, tensor_pb2, tensor_shape_pb2, types_pb2


def dtype_enum(dtype) -> int:
    """TF's ``DataType`` enum value of a dtype (``float32`` -> ``DT_FLOAT`` = 1)."""
    return dtypes.as_dtype(dtype).as_datatype_enum


def dtype_from_enum(enum: int) -> dtypes.DType:
    """The dtype of a ``DataType`` enum value (the inverse of :func:`dtype_enum`)."""
    if not 0 < int(enum) < 100:  # the _REF types (value + 100) are no tensor dtypes
        raise ValueError(f"DataType enum {enum} is not a tensor dtype")
    return dtypes.as_dtype(int(enum))


def _shape_proto(shape, out):
    shape = shape if isinstance(shape, TensorShape) else TensorShape(shape)
    if shape.ndims is None:
        out.unknown_rank = True
        return out
    for d in shape.as_list():
        out.dim.add().size = -1 if d is None else d
    return out


def tensor_proto(value: np.ndarray):
    """A ``TensorProto`` holding ``value`` (numbers as ``tensor_content`` bytes, strings as ``string_val``)."""
    tensor_pb2 = _protos()[3]
    value = np.asarray(value)
    dt = dtypes.as_dtype(value.dtype)
    t = tensor_pb2.TensorProto(dtype=dtype_enum(dt))
    _shape_proto(TensorShape(value.shape), t.tensor_shape)
    if dt is dtypes.string:
        t.string_val.extend(v if isinstance(v, bytes) else str(v).encode() for v in value.ravel())
    else:
        t.tensor_content = np.ascontiguousarray(value, dtype=value.dtype.newbyteorder("<")).tobytes()
    return t


def tensor_value(proto) -> np.ndarray:
    """The NumPy value of a ``TensorProto`` written by :func:`tensor_proto`."""
    dt = dtype_from_enum(proto.dtype)
    shape = [d.size for d in proto.tensor_shape.dim]
    if dt is dtypes.string:
        return np.array(list(proto.string_val), dtype=object).reshape(shape)
    npd = np.dtype(dt.as_numpy_dtype).newbyteorder("<")
    return np.frombuffer(proto.tensor_content, dtype=npd).astype(npd.newbyteorder("="), copy=True).reshape(shape)


def _scalar_field(v):
    if isinstance(v, (bool, np.bool_)):
        return "b", bool(v)
    if isinstance(v, (int, np.integer)):
        return "i", int(v)
    if isinstance(v, (float, np.floating)):
        return "f", float(v)
    if isinstance(v, str):
        return "s", v.encode()
    if isinstance(v, bytes):
        return "s", v
    if isinstance(v, dtypes.DType):
        return "type", dtype_enum(v)
    return None, None


def attr_value(value):
    """An ``AttrValue`` for one of our attr values (see the module docstring), or None to leave it out."""
    attr_value_pb2 = _protos()[0]
    av = attr_value_pb2.AttrValue()
    if value is None:
        return None
    if isinstance(value, TensorShape):
        _shape_proto(value, av.shape)
        return av
    if isinstance(value, np.ndarray):
        av.tensor.CopyFrom(tensor_proto(value))
        return av
    kind, v = _scalar_field(value)
    if kind is not None:
        setattr(av, kind, v)
        return av
    if isinstance(value, (list, tuple)):
        fields = {_scalar_field(x)[0] if not isinstance(x, TensorShape) else "shape" for x in value}
        if len(fields) <= 1 and None not in fields:
            av.list.SetInParent()
            for x in value:
                if isinstance(x, TensorShape):
                    _shape_proto(x, av.list.shape.add())
                else:
                    kind, v = _scalar_field(x)
                    getattr(av.list, kind).append(v)
            return av
    av.s = repr(value).encode()
    return av


def input_name(t) -> str:
    """TF's name of a tensor as a node's input: ``"op"`` for output 0, else ``"op:i"``."""
    return t.op.name if t.value_index == 0 else f"{t.op.name}:{t.value_index}"


def node_def(op, add_shapes: bool = False):
    """The ``NodeDef`` of one operation."""
    nd = _protos()[2].NodeDef(name=op.name, op=op.type, device=op.device or "")
    nd.input.extend(input_name(t) for t in op._inputs)
    nd.input.extend("^" + c.name for c in op._control_inputs)
    none, reprs = [], []
    for k, v in op.attrs.items():
        av = attr_value(v)
        if av is None:
            none.append(k)
            continue
        if av.WhichOneof("value") == "s" and not isinstance(v, (str, bytes)):
            reprs.append(k)  # written as its repr: the importer reads it back with ast.literal_eval
        nd.attr[k].CopyFrom(av)
    for key, names in (("_df_none", none), ("_df_repr", reprs)):  # so that importing gives the same attrs
        if names:
            nd.attr[key].list.s.extend(n.encode() for n in names)
    if "T" not in op.attrs and op._inputs and op.type != "FusedElementwise":
        nd.attr["T"].type = dtype_enum(op._inputs[0].dtype)
        nd.attr["_df_added"].list.s.append(b"T")  # for TF's readers only: not imported back
    if add_shapes:
        shapes = nd.attr["_output_shapes"].list
        shapes.SetInParent()
        for t in op.outputs:
            _shape_proto(t.shape, shapes.shape.add())
    return nd


def transfer_node_defs(t, src: str, dst: str):
    """The ``_Send`` (on ``src``) and ``_Recv`` (on ``dst``) NodeDefs of tensor ``t`` crossing devices, as
    TF's partitioner writes them into each device's partition graph."""
    NodeDef = _protos()[2].NodeDef
    name = input_name(t)
    send = NodeDef(name=f"{t.op.name}/_Send_{t.value_index}", op="_Send", device=src)
    send.input.append(name)
    send.attr["T"].type = dtype_enum(t.dtype)
    recv = NodeDef(name=f"{t.op.name}/_Recv_{t.value_index}", op="_Recv", device=dst)
    recv.attr["tensor_type"].type = dtype_enum(t.dtype)
    for nd in (send, recv):
        nd.attr["tensor_name"].s = name.encode()
        nd.attr["send_device"].s = src.encode()
        nd.attr["recv_device"].s = dst.encode()
        nd.attr["client_terminated"].b = False
    return send, recv


def ops_to_graph_def(ops, add_shapes: bool = False):
    """A ``GraphDef`` of ``ops`` (any list of operations, in the order given).

    Examples
    --------
    >>> import dataflow as tf
    >>> from dataflow.framework.graph_def import ops_to_graph_def
    >>> with tf.Graph().as_default() as g:
    ...     y = tf.constant(2.0, name="c") * 3.0
    >>> [n.op for n in ops_to_graph_def(g.get_operations()).node]
    ['Const', 'Const', 'Mul']
    """
    gd = _protos()[1].GraphDef()
    gd.versions.producer = PRODUCER_VERSION
    gd.node.extend(node_def(op, add_shapes) for op in ops)
    return gd


def graph_to_graph_def(graph, from_version: int | None = None, add_shapes: bool = False):
    """``graph.as_graph_def(from_version, add_shapes)``: the ops added after version ``from_version``
    (all when None), each with ``_output_shapes`` when ``add_shapes``."""
    ops = graph.get_operations()
    if from_version is not None:
        ops = [op for op in ops if getattr(op, "_created_version", 0) > from_version]
    return ops_to_graph_def(ops, add_shapes)
