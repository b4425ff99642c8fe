"""``tf.train.Example`` and friends: protobuf messages wire-compatible with TensorFlow's.

TensorFlow defines ``Example`` in ``tensorflow/core/example/{feature,example}.proto``. The same
messages are built here from a ``FileDescriptorProto`` written in Python (no generated code, no
``protoc``), with the same field numbers and types, in the proto package ``dataflow`` rather than
``tensorflow``: the bytes on the wire are identical (a package name never travels), and TensorFlow can
be imported in the same process without a descriptor-pool clash.

::

    message BytesList { repeated bytes value = 1; }
    message FloatList { repeated float value = 1 [packed = true]; }
    message Int64List { repeated int64 value = 1 [packed = true]; }
    message Feature { oneof kind { BytesList bytes_list = 1; FloatList float_list = 2;
                                   Int64List int64_list = 3; } }
    message Features { map<string, Feature> feature = 1; }
    message FeatureList { repeated Feature feature = 1; }
    message FeatureLists { map<string, FeatureList> feature_list = 1; }
    message Example { Features features = 1; }
    message SequenceExample { Features context = 1; FeatureLists feature_lists = 2; }
    message ExampleBatch { repeated Example examples = 1; }   // ours: a batch parsed in one call

The classes are ordinary protobuf message classes of whatever runtime is installed (upb is the fast
one): ``Example.FromString(record)``, ``ex.SerializeToString()``, ``ex.features.feature["label"]``.
"""

from __future__ import annotations

from google.protobuf import descriptor_pb2, descriptor_pool

__all__ = ["BytesList", "Example", "Feature", "FeatureList", "FeatureLists", "Features", "FloatList",
           "Int64List", "SequenceExample"]

_PACKAGE = "dataflow"
_F = descriptor_pb2.FieldDescriptorProto


def _field(msg, name: str, number: int, ftype: int, label=_F.LABEL_OPTIONAL, type_name: str | None = None,
           packed: bool = False, oneof: int | None = None):
    f = msg.field.add(name=name, number=number, type=ftype, label=label, json_name=_json(name))
    if type_name:
        f.type_name = f".{_PACKAGE}.{type_name}"
    if packed:
        f.options.packed = True
    if oneof is not None:
        f.oneof_index = oneof
    return f


def _json(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(p.title() for p in rest)


def _map(msg, name: str, value_type: str):
    """A ``map<string, value_type> name = 1`` field: a nested ``*Entry`` message, as protoc makes it."""
    entry = msg.nested_type.add(name="".join(p.title() for p in name.split("_")) + "Entry")
    entry.options.map_entry = True
    _field(entry, "key", 1, _F.TYPE_STRING)
    _field(entry, "value", 2, _F.TYPE_MESSAGE, type_name=value_type)
    f = _field(msg, name, 1, _F.TYPE_MESSAGE, _F.LABEL_REPEATED)
    f.type_name = f".{_PACKAGE}.{msg.name}.{entry.name}"


def _file_proto() -> descriptor_pb2.FileDescriptorProto:
    fp = descriptor_pb2.FileDescriptorProto(name="dataflow/example.proto", package=_PACKAGE, syntax="proto3")
    rep = _F.LABEL_REPEATED
    _field(fp.message_type.add(name="BytesList"), "value", 1, _F.TYPE_BYTES, rep)
    _field(fp.message_type.add(name="FloatList"), "value", 1, _F.TYPE_FLOAT, rep, packed=True)
    _field(fp.message_type.add(name="Int64List"), "value", 1, _F.TYPE_INT64, rep, packed=True)
    feature = fp.message_type.add(name="Feature")
    feature.oneof_decl.add(name="kind")
    for number, (name, type_name) in enumerate(
            [("bytes_list", "BytesList"), ("float_list", "FloatList"), ("int64_list", "Int64List")], 1):
        _field(feature, name, number, _F.TYPE_MESSAGE, type_name=type_name, oneof=0)
    _map(fp.message_type.add(name="Features"), "feature", "Feature")
    _field(fp.message_type.add(name="FeatureList"), "feature", 1, _F.TYPE_MESSAGE, rep, type_name="Feature")
    _map(fp.message_type.add(name="FeatureLists"), "feature_list", "FeatureList")
    _field(fp.message_type.add(name="Example"), "features", 1, _F.TYPE_MESSAGE, type_name="Features")
    seq = fp.message_type.add(name="SequenceExample")
    _field(seq, "context", 1, _F.TYPE_MESSAGE, type_name="Features")
    _field(seq, "feature_lists", 2, _F.TYPE_MESSAGE, type_name="FeatureLists")
    # not TensorFlow's: a batch of serialized Examples parsed in one call (see dataflow/ops/parsing_ops.py)
    _field(fp.message_type.add(name="ExampleBatch"), "examples", 1, _F.TYPE_MESSAGE, rep, type_name="Example")
    return fp


def _message_class(descriptor):
    try:
        from google.protobuf.message_factory import GetMessageClass
    except ImportError:  # protobuf < 4.22
        from google.protobuf.message_factory import MessageFactory

        return MessageFactory().GetPrototype(descriptor)
    return GetMessageClass(descriptor)


_POOL = descriptor_pool.DescriptorPool()
_FILE = _POOL.Add(_file_proto()) if hasattr(_POOL, "Add") else None
_classes = {name: _message_class(_POOL.FindMessageTypeByName(f"{_PACKAGE}.{name}"))
            for name in __all__ + ["ExampleBatch"]}

BytesList = _classes["BytesList"]
FloatList = _classes["FloatList"]
Int64List = _classes["Int64List"]
Feature = _classes["Feature"]
Features = _classes["Features"]
FeatureList = _classes["FeatureList"]
FeatureLists = _classes["FeatureLists"]
Example = _classes["Example"]
SequenceExample = _classes["SequenceExample"]
ExampleBatch = _classes["ExampleBatch"]
