"""``tf.train.export_meta_graph`` / ``tf.train.import_meta_graph``: a graph, its Saver and its
collections in TensorFlow's ``MetaGraphDef`` protobuf (the ``.meta`` file next to a checkpoint).

A MetaGraphDef holds

* ``graph_def``: every op (``Graph.as_graph_def``);
* ``saver_def``: the Saver's names (``restore_op_name`` ``save/restore_all``, ``max_to_keep``...);
* ``collection_def``: each collection as one list kind, as TensorFlow writes them: variables as
  serialized ``VariableDef`` protos (``bytes_list``: the variable, initializer, snapshot and initial
  value names, trainable, and the slice of a partitioned variable), tensors and ops by name
  (``node_list``: ``"pred:0"``, ``"GradientDescent"``), strings, ints and floats as themselves. A
  collection of anything else (queue runners, Python objects) is left out with a warning, as TF does.

Importing rebuilds the graph node by node from the registry (:mod:`dataflow.framework.importer`, which
also reads TensorFlow's dialect), then the collections (variables become :class:`Variable` objects over
the imported ops), then a :class:`Saver`. The nodes of the saver's own name scope are not imported: a
checkpoint written by TensorFlow's SaveV2/RestoreV2 ops is read by our Saver, which builds its own
restore ops under the same scope (so ``restore_op_name`` still names the op that restores).
"""

from __future__ import annotations

import logging

from ..framework import importer
from ..framework.graph import Operation, Tensor, get_default_graph
from . import checkpoint_io as io

_log = logging.getLogger("dataflow")


def _protos():
    from tensorboard.compat.proto import meta_graph_pb2, saver_pb2, variable_pb2

    return meta_graph_pb2, saver_pb2, variable_pb2


def _is_variable(item) -> bool:
    from ..ops.variables import Variable

    return isinstance(item, Variable)


# ---- export -----------------------------------------------------------------------------------
def variable_def(v, export_scope: str | None = None):
    """The ``VariableDef`` protobuf of a variable (TF's ``Variable.to_proto``)."""
    vd = _protos()[2].VariableDef()
    strip = (lambda n: n[len(export_scope) + 1:] if export_scope and n.startswith(export_scope + "/") else n)
    vd.variable_name = strip(v.name)
    vd.initializer_name = strip(v.initializer.name)
    vd.snapshot_name = strip(v.value().name)
    if v.initial_value is not None:
        vd.initial_value_name = strip(v.initial_value.name)
    vd.trainable = bool(v.trainable)
    info = getattr(v, "_save_slice_info", None)
    if info is not None:
        vd.save_slice_info_def.CopyFrom(info.to_proto())
    return vd


def _collection_def(items, export_scope):
    meta_graph_pb2 = _protos()[0]
    cd = meta_graph_pb2.CollectionDef()
    if all(_is_variable(i) for i in items):
        cd.bytes_list.value.extend(variable_def(v, export_scope).SerializeToString() for v in items)
    elif all(isinstance(i, (Tensor, Operation)) for i in items):
        cd.node_list.value.extend(i.name for i in items)
    elif all(isinstance(i, (str, bytes)) for i in items):
        cd.bytes_list.value.extend(i.encode() if isinstance(i, str) else i for i in items)
    elif all(isinstance(i, int) and not isinstance(i, bool) for i in items):
        cd.int64_list.value.extend(items)
    elif all(isinstance(i, float) for i in items):
        cd.float_list.value.extend(items)
    else:
        return None
    return cd


def export_meta_graph(filename=None, meta_info_def=None, graph_def=None, saver_def=None, collection_list=None,
                      as_text=False, graph=None, export_scope=None, clear_devices=False,
                      clear_extraneous_savers=False, strip_default_attrs=False, save_debug_info=False,
                      **kwargs):
    """Export a graph, its collections and a SaverDef as a ``MetaGraphDef`` (written to ``filename``).

    Parameters
    ----------
    filename : str, optional
        Where to write it (any fsspec URL); binary protobuf, or text format with ``as_text``.
    saver_def : SaverDef, optional
        The Saver's description (``Saver.as_saver_def()``).
    collection_list : list of str, optional
        The collections to export (default: all).
    graph : Graph, optional
        Default: the default graph.
    clear_devices : bool
        Write every node without its device.

    Returns
    -------
    MetaGraphDef

    Examples
    --------
    >>> import dataflow as tf
    >>> with tf.Graph().as_default():
    ...     v = tf.Variable(1.0, name="v")
    ...     meta = tf.train.export_meta_graph()
    >>> sorted(meta.collection_def)
    ['trainable_variables', 'variables']
    """
    meta_graph_pb2 = _protos()[0]
    graph = graph or get_default_graph()
    meta = meta_graph_pb2.MetaGraphDef()
    if meta_info_def is not None:
        meta.meta_info_def.CopyFrom(meta_info_def)
    meta.meta_info_def.tensorflow_version = "dataflow"
    meta.graph_def.CopyFrom(graph_def if graph_def is not None else graph.as_graph_def(add_shapes=True))
    if clear_devices:
        for node in meta.graph_def.node:
            node.device = ""
    if saver_def is not None:
        meta.saver_def.CopyFrom(saver_def)
    keys = collection_list if collection_list is not None else graph.get_all_collection_keys()
    for key in keys:
        items = graph.get_collection(key)
        if not items:
            continue
        cd = _collection_def(items, export_scope)
        if cd is None:
            _log.warning("Issue encountered when serializing %s: its items are not all variables, tensors, "
                         "ops, strings or numbers; the collection is left out.", key)
            continue
        meta.collection_def[key].CopyFrom(cd)
    if filename is not None:
        if as_text:
            from google.protobuf import text_format

            io.write_atomic(filename, [text_format.MessageToString(meta).encode()])
        else:
            io.write_atomic(filename, [meta.SerializeToString()])
    return meta


# ---- import -----------------------------------------------------------------------------------
def read_meta_graph_file(filename: str):
    """The ``MetaGraphDef`` in ``filename`` (binary protobuf, or text format)."""
    meta_graph_pb2 = _protos()[0]
    data = io.read_bytes(filename)
    meta = meta_graph_pb2.MetaGraphDef()
    try:
        meta.ParseFromString(data)
    except Exception:  # noqa: BLE001 - protobuf's DecodeError; try the text format
        from google.protobuf import text_format

        try:
            text_format.Parse(data.decode(), meta)
        except Exception as e:  # noqa: BLE001
            raise IOError(f"Cannot parse file {filename}: {e}") from None
    return meta


def _variable_from_def(graph, vd, prefix: str):
    from ..ops.variables import Variable
    from ..ops.partitioned_variables import SaveSliceInfo

    v = Variable.__new__(Variable)
    v._variable = graph.get_tensor_by_name(prefix + vd.variable_name)
    v._initializer_op = graph.get_operation_by_name(prefix + vd.initializer_name)
    v._snapshot = graph.get_tensor_by_name(prefix + vd.snapshot_name)
    v._initial_value = graph.get_tensor_by_name(prefix + vd.initial_value_name) if vd.initial_value_name else None
    v._trainable = bool(vd.trainable)
    v._constraint = None
    v._save_slice_info = (SaveSliceInfo.from_proto(vd.save_slice_info_def, prefix)
                          if vd.HasField("save_slice_info_def") else None)
    return v


def _import_collections(graph, meta, prefix: str, import_scope) -> None:
    variables: dict = {}
    for key, cd in sorted(meta.collection_def.items()):
        kind = cd.WhichOneof("kind")
        if kind == "node_list":
            items = [graph.as_graph_element(prefix + name) for name in cd.node_list.value]
        elif kind == "bytes_list":
            values = list(cd.bytes_list.value)
            items = []
            for raw in values:
                vd = _protos()[2].VariableDef()
                try:
                    vd.ParseFromString(raw)
                    ok = bool(vd.variable_name) and vd.variable_name.endswith(":0")
                except Exception:  # noqa: BLE001 - not a VariableDef: a collection of strings
                    ok = False
                if not ok:
                    items = [v.decode(errors="replace") if isinstance(v, bytes) else v for v in values]
                    break
                if vd.is_resource:
                    raise ValueError(f"Cannot import collection {key!r}: resource variables "
                                     f"({vd.variable_name}) are not supported; build the graph with ref "
                                     f"variables (tf.disable_v2_behavior / use_resource=False)")
                if vd.variable_name not in variables:
                    variables[vd.variable_name] = _variable_from_def(graph, vd, prefix)
                items.append(variables[vd.variable_name])
        elif kind == "int64_list":
            items = list(cd.int64_list.value)
        elif kind == "float_list":
            items = list(cd.float_list.value)
        else:
            _log.warning("Collection %s (kind %s) cannot be imported; it is skipped.", key, kind)
            continue
        for item in items:
            graph.add_to_collection(key, item)


def import_meta_graph(meta_graph_or_file, clear_devices=False, import_scope=None, **kwargs):
    """Recreate a graph saved as a ``MetaGraphDef`` in the default graph; return its Saver.

    The ops are rebuilt from the registry by type and attrs (a graph written by TensorFlow 2.x in TF1
    style works where our op set covers it; an op type we do not have is a ``ValueError`` naming it).

    Parameters
    ----------
    meta_graph_or_file : str or MetaGraphDef
        A ``.meta`` file (fsspec URL) or the protobuf.
    clear_devices : bool
        Import every op without its device.
    import_scope : str, optional
        A name scope prefixed to every imported name.

    Returns
    -------
    Saver or None
        A Saver over the imported variables (None when the graph has neither a SaverDef nor variables).

    Examples
    --------
    >>> import dataflow as tf
    >>> saver = tf.train.import_meta_graph("/tmp/model.ckpt-3.meta")            # doctest: +SKIP
    >>> with tf.Session() as sess:                                              # doctest: +SKIP
    ...     saver.restore(sess, "/tmp/model.ckpt-3")
    ...     sess.run("pred:0", {"x:0": [[1.0, 2.0, 3.0]]})
    """
    from .saver import Saver

    meta = meta_graph_or_file
    if isinstance(meta, str):
        meta = read_meta_graph_file(meta)
    graph = get_default_graph()
    prefix = ""
    if import_scope:
        prefix = graph.unique_name(import_scope) + "/"
    saver_scope = meta.saver_def.restore_op_name.rpartition("/")[0] if meta.HasField("saver_def") else ""

    def skip(node) -> bool:
        return bool(saver_scope) and node.name.startswith(saver_scope + "/")

    made = importer.import_nodes(graph, meta.graph_def, prefix=prefix, skip=skip)
    if clear_devices:
        for op in made.values():
            op.device = ""
    _import_collections(graph, meta, prefix, import_scope)
    from ..framework.graph import GraphKeys

    variables = graph.get_collection(GraphKeys.GLOBAL_VARIABLES)
    if not meta.HasField("saver_def") and not variables:
        return None
    sd = meta.saver_def
    # checkpoint keys are the names the graph was saved with, without the import scope (as TF's)
    var_list: dict = {}
    for v in variables:
        info = v._save_slice_info
        key = info.full_name if info is not None else v.op.name
        if key.startswith(prefix):
            var_list.setdefault(key[len(prefix):], []).append(v)
    return Saver(var_list=var_list, max_to_keep=sd.max_to_keep if meta.HasField("saver_def") else 5,
                 keep_checkpoint_every_n_hours=sd.keep_checkpoint_every_n_hours or 10000.0,
                 sharded=sd.sharded, name=prefix + (saver_scope or "save"), allow_empty=True)
