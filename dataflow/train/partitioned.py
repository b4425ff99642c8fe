"""Partitioned variables: slices of one logical variable, saved as TensorFlow saves them."""

from __future__ import annotations


class SaveSliceInfo:
    """Where a variable's slice sits in its full variable (TF's ``Variable.SaveSliceInfo``).

    Parameters
    ----------
    full_name : str
        The full variable's name (its checkpoint key).
    full_shape, var_offset, var_shape : list of int
        The full variable's shape, this slice's offset in it and the slice's shape.
    """

    def __init__(self, full_name=None, full_shape=None, var_offset=None, var_shape=None, save_slice_info_def=None,
                 import_scope=None):
        if save_slice_info_def is not None:
            prefix = (import_scope + "/") if import_scope else ""
            full_name, full_shape = prefix + save_slice_info_def.full_name, list(save_slice_info_def.full_shape)
            var_offset, var_shape = list(save_slice_info_def.var_offset), list(save_slice_info_def.var_shape)
        self.full_name = full_name
        self.full_shape = [int(d) for d in full_shape]
        self.var_offset = [int(d) for d in var_offset]
        self.var_shape = [int(d) for d in var_shape]

    @property
    def spec(self) -> str:
        """TF's slice spec string: ``"10 3 0,4:0,3"`` (full shape, then ``offset,length`` per axis)."""
        full = " ".join(str(d) for d in self.full_shape)
        sl = ":".join(f"{o},{n}" for o, n in zip(self.var_offset, self.var_shape))
        return f"{full} {sl}"

    def to_proto(self, export_scope=None):
        from tensorboard.compat.proto import variable_pb2

        name = self.full_name
        if export_scope and name.startswith(export_scope + "/"):
            name = name[len(export_scope) + 1:]
        return variable_pb2.SaveSliceInfoDef(full_name=name, full_shape=self.full_shape,
                                             var_offset=self.var_offset, var_shape=self.var_shape)

    @classmethod
    def from_proto(cls, proto, prefix: str = "") -> "SaveSliceInfo":
        return cls(prefix + proto.full_name, list(proto.full_shape), list(proto.var_offset), list(proto.var_shape))
