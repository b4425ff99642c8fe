"""Partitioned variables: ``get_variable(..., partitioner=...)`` and TF's three partitioners.

A partitioner maps ``(shape, dtype)`` to a list of partition counts, one per axis, at most one of them
above 1 (the *slice dim*). ``get_variable`` then makes one ordinary variable per slice, named
``name/part_0``, ``name/part_1``..., sized as TF's ``_iter_slices`` does: along the slice dim, the
first ``size % n`` parts one row larger. Each part carries a :class:`SaveSliceInfo` (the full name,
full shape, its offset and shape), so a Saver writes the parts as slices of ONE checkpoint tensor
named after the full variable, as TensorFlow does (``dataflow.train.checkpoint_slices``); a checkpoint
restores into any partitioning of the same full shape.

The :class:`PartitionedVariable` returned is list-like (its parts, in order); as a tensor it is the
parts concatenated along the slice dim (``name/ConcatPartitions/concat``), so ``tf.matmul(x, pv)``
works; ``tf.nn.embedding_lookup(pv, ids)`` uses the parts as shards (TF's ``mod`` strategy by default).
"""

from __future__ import annotations

import math

from ..framework import dtypes
from ..framework.graph import Tensor, get_default_graph, name_scope, register_tensor_conversion_function
from ..framework.tensor_shape import TensorShape, as_shape


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
        return full + " " + ":".join(f"{o},{n}" for o, n in zip(self.var_offset, self.var_shape))

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


def copy_slice_info(primary, slot) -> None:
    """Give an optimizer slot (or a moving average) of a partitioned variable's part the same slicing, under
    ``<full name>/<slot name>`` (TF's ``slot_creator``): its checkpoint entry is then one full tensor too."""
    info = getattr(primary, "_save_slice_info", None)
    if info is None:
        return
    n = slot.shape.ndims
    if n is not None and n == 0:
        return
    real = slot.op.name[len(primary.op.name) + 1:]
    n = len(info.full_shape) if n is None else n
    slot._save_slice_info = SaveSliceInfo(f"{info.full_name}/{real}", info.full_shape[:n], info.var_offset[:n],
                                          info.var_shape[:n])


class PartitionInfo:
    """What a partition's initializer is told (TF's ``_PartitionInfo``): the full shape and its offset."""

    def __init__(self, full_shape, var_offset):
        self.full_shape = list(full_shape)
        self.var_offset = list(var_offset)

    def single_offset(self, shape) -> int:
        dim = self.single_slice_dim(shape)
        return 0 if dim is None else self.var_offset[dim]

    def single_slice_dim(self, shape):
        for i, (full, part) in enumerate(zip(self.full_shape, shape)):
            if full != part:
                return i
        return None


# ---- the partitioners (TF's partitioned_variables.py, same arithmetic) ------------------------------
def _element_size(dtype, bytes_per_string_element: int) -> int:
    dtype = dtypes.as_dtype(dtype).base_dtype
    return bytes_per_string_element if dtype is dtypes.string else dtype.size


def fixed_size_partitioner(num_shards: int, axis: int = 0):
    """A partitioner of ``num_shards`` parts along ``axis`` (fewer if the axis is shorter).

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.fixed_size_partitioner(3)(shape=tf.TensorShape([10, 4]), dtype=tf.float32)
    [3, 1]
    """
    def _partitioner(shape, **unused_args):
        partitions = [1] * len(shape)
        partitions[axis] = min(num_shards, as_shape(shape).as_list()[axis])
        return partitions

    return _partitioner


def variable_axis_size_partitioner(max_shard_bytes: int, axis: int = 0, bytes_per_string_element: int = 16,
                                   max_shards: int | None = None):
    """A partitioner keeping each part under ``max_shard_bytes`` (whole slices along ``axis``).

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.variable_axis_size_partitioner(4096)(shape=tf.TensorShape([100, 50]), dtype=tf.float32)
    [5, 1]
    """
    if max_shard_bytes < 1 or bytes_per_string_element < 1:
        raise ValueError(f"Both max_shard_bytes and bytes_per_string_element must be positive. Currently, "
                         f"max_shard_bytes is {max_shard_bytes} andbytes_per_string_element is "
                         f"{bytes_per_string_element}")
    if max_shards and max_shards < 1:
        raise ValueError("max_shards must be positive.")

    def _partitioner(shape, dtype):
        if not isinstance(shape, TensorShape):
            raise ValueError(f"shape is not a TensorShape: {shape}")
        if not shape.is_fully_defined():
            raise ValueError(f"shape is not fully defined: {shape}")
        dims = shape.as_list()
        partitions = [1] * len(dims)
        bytes_per_slice = 1.0 * (shape.num_elements() / dims[axis]) * _element_size(dtype, bytes_per_string_element)
        slices_per_shard = max(1, math.floor(max_shard_bytes / bytes_per_slice))
        axis_shards = int(math.ceil(1.0 * dims[axis] / slices_per_shard))
        if max_shards:
            axis_shards = min(max_shards, axis_shards)
        partitions[axis] = axis_shards
        return partitions

    return _partitioner


def min_max_variable_partitioner(max_partitions: int = 1, axis: int = 0, min_slice_size: int = 256 << 10,
                                 bytes_per_string_element: int = 16):
    """A partitioner of parts of at least ``min_slice_size`` bytes, at most ``max_partitions`` of them.

    Examples
    --------
    >>> import dataflow as tf
    >>> tf.min_max_variable_partitioner(4, min_slice_size=1024)(shape=tf.TensorShape([300, 10]),
    ...                                                          dtype=tf.float32)
    [4, 1]
    """
    def _partitioner(shape, dtype):
        dims = as_shape(shape).as_list()
        if axis >= len(dims):
            raise ValueError(f"Cannot partition variable along axis {axis} when shape is only {as_shape(shape)}")
        total = as_shape(shape).num_elements() * _element_size(dtype, bytes_per_string_element)
        partitions = [1] * len(dims)
        partitions[axis] = max(1, min(dims[axis], max_partitions, int(math.ceil(total / min_slice_size))))
        return partitions

    return _partitioner


def _slice_dim_and_count(name: str, shape: TensorShape, partitions) -> tuple[int, int]:
    partitions = list(partitions)
    if len(partitions) != shape.ndims:
        raise ValueError(f"Partitioner returned a partition list that does not match the Variable's rank: "
                         f"{partitions} vs. {shape}")
    if any(p < 1 for p in partitions):
        raise ValueError(f"Partitioner returned zero partitions for some axes: {partitions}")
    above = [i for i, p in enumerate(partitions) if p > 1]
    if len(above) > 1:
        raise ValueError(f"Can only slice a variable along one dimension: shape: {shape}, partitioning: "
                         f"{partitions}")
    return (above[0], partitions[above[0]]) if above else (0, 1)


def iter_slices(full_shape: list, num_slices: int, slice_dim: int):
    """``(offset, shape)`` of each part (TF's ``_iter_slices``: the first ``size % n`` one larger)."""
    excess = full_shape[slice_dim] % num_slices
    offset = [0] * len(full_shape)
    base = full_shape[slice_dim] // num_slices
    for i in range(num_slices):
        shape = list(full_shape)
        shape[slice_dim] = base + (i < excess)
        yield list(offset), shape
        offset[slice_dim] += shape[slice_dim]


class PartitionedVariable:
    """A variable made of parts along one axis (``get_variable(..., partitioner=...)``).

    Iterating gives the parts (``Variable``s named ``name/part_i``); as a tensor it is their concat.

    Examples
    --------
    >>> import dataflow as tf
    >>> pv = tf.get_variable("emb", [10, 3], partitioner=tf.fixed_size_partitioner(3))
    >>> [v.op.name for v in pv], [v.shape.as_list() for v in pv]
    (['emb/part_0', 'emb/part_1', 'emb/part_2'], [[4, 3], [3, 3], [3, 3]])
    >>> pv.as_tensor().shape.as_list()
    [10, 3]
    """

    def __init__(self, name, shape, dtype, variable_list, partitions):
        if not variable_list:
            raise ValueError(f"variable_list may not be empty: {name}")
        self._name = name
        self._shape = as_shape(shape)
        self._dtype = dtypes.as_dtype(dtype)
        self._variable_list = sorted(variable_list, key=lambda v: v._save_slice_info.var_offset)
        self._partitions = list(partitions)
        self._as_tensor = None

    def __iter__(self):
        return iter(self._variable_list)

    def __len__(self) -> int:
        return len(self._variable_list)

    def __getitem__(self, i):
        return self._variable_list[i]

    @property
    def name(self) -> str:
        return self._name

    @property
    def dtype(self):
        return self._dtype

    @property
    def shape(self) -> TensorShape:
        return self._shape

    @property
    def graph(self):
        return self._variable_list[0].graph

    def get_shape(self) -> TensorShape:
        return self._shape

    def _get_variable_list(self) -> list:
        return list(self._variable_list)

    def _get_partitions(self) -> list:
        return list(self._partitions)

    def _partition_axes(self) -> list:
        return [i for i, p in enumerate(self._partitions) if p > 1] or [0]

    def _concat(self) -> Tensor:
        from .indexing import concat

        if len(self._variable_list) == 1:
            with name_scope(None):
                from .array import identity

                return identity(self._variable_list[0], name=self._name)
        with name_scope(self._name + "/ConcatPartitions/"):
            return concat([v.value() for v in self._variable_list], self._partition_axes()[0], name="concat")

    def as_tensor(self) -> Tensor:
        """The full variable: the parts concatenated (one op, made once)."""
        if self._as_tensor is None:
            with get_default_graph().control_dependencies(None):
                self._as_tensor = self._concat()
        return self._as_tensor

    def assign(self, value, use_locking=False, name=None, read_value=True):
        """Assign ``value`` (the full shape) to the parts; returns the group of assigns."""
        from .indexing import slice as slice_
        from .constant import group
        from ..framework.graph import convert_to_tensor

        value = convert_to_tensor(value, dtype=self._dtype)
        assigns = [v.assign(slice_(value, v._save_slice_info.var_offset, v._save_slice_info.var_shape),
                            use_locking=use_locking) for v in self._variable_list]
        return group(*assigns, name=name or f"{self._name}/assign")

    def __repr__(self):
        return f"<dataflow.PartitionedVariable '{self._name}' shape={self._shape} parts={len(self)}>"


register_tensor_conversion_function(PartitionedVariable, lambda v, dtype=None, name=None, as_ref=False: v.as_tensor())


def get_partitioned_variable(getter, name: str, partitioner, shape=None, dtype=dtypes.float32, initializer=None,
                             reuse=None, **kwargs) -> PartitionedVariable:
    """Make (or, with reuse, find) the partitioned variable ``name`` through ``getter`` (the store's
    single-variable getter), as TF's ``_VariableStore._get_partitioned_variable``."""
    graph = get_default_graph()
    store = graph.__dict__.setdefault("_partitioned_store", {})
    singles = graph.__dict__.setdefault("_variable_store", {})
    from_value = isinstance(initializer, Tensor)
    if name in singles:
        raise ValueError(f"A partitioner was provided, but an unpartitioned version of the variable was found: "
                         f"{name}.  Perhaps a variable of the same name was already created without "
                         f"partitioning?")
    shape = as_shape(shape)
    if from_value:
        shape = shape.merge_with(initializer.shape)
    dtype = dtypes.as_dtype(dtype)
    partitions = None
    if not shape.is_fully_defined():
        raise ValueError(f"Shape of a new partitioned variable ({name}) must be fully defined, but instead was "
                         f"{shape}.")
    partitions = list(partitioner(shape=shape, dtype=dtype))
    if name in store:
        if reuse is False or reuse is None:
            raise ValueError(f"Partitioned variable with name {name} already exists. Did you mean to set "
                             f"reuse=True or reuse=tf.AUTO_REUSE in VarScope?")
        existing = store[name]
        if not shape.is_compatible_with(existing.shape):
            raise ValueError(f"Trying to reuse partitioned variable {name}, but specified shape {shape} and "
                             f"found shape {existing.shape}.")
        if dtype is not existing.dtype:
            raise ValueError(f"Trying to reuse partitioned variable {name}, but specified dtype {dtype.name} "
                             f"and found dtype {existing.dtype.name}.")
        if existing._get_partitions() != partitions:
            raise ValueError(f"Trying to reuse partitioned variable {name}, but specified partitions "
                             f"{partitions} and found partitions {existing._get_partitions()}.")
        return existing
    if reuse is True:
        raise ValueError(f"PartitionedVariable {name} does not exist, or was not created with "
                         f"tf.get_variable(). Did you mean to set reuse=False or reuse=tf.AUTO_REUSE in VarScope?")
    slice_dim, count = _slice_dim_and_count(name, shape, partitions)
    parts = []
    for i, (offset, part_shape) in enumerate(iter_slices(shape.as_list(), count, slice_dim)):
        info = PartitionInfo(shape.as_list(), offset)
        init = initializer
        if from_value or (initializer is not None and not callable(initializer)):
            from ..framework.graph import convert_to_tensor
            from .indexing import slice as slice_

            with name_scope(f"{name}/part_{i}/PartitionedInitializer/"):
                init = slice_(convert_to_tensor(initializer, dtype=dtype), offset, part_shape)
            part = getter(f"{name}/part_{i}", shape=None, dtype=dtype, initializer=init, reuse=reuse, **kwargs)
        else:
            part = getter(f"{name}/part_{i}", shape=part_shape, dtype=dtype, initializer=init, reuse=reuse,
                          partition_info=info, **kwargs)
        part._save_slice_info = SaveSliceInfo(name, shape.as_list(), offset, part_shape)
        parts.append(part)
    pv = PartitionedVariable(name, shape, dtype, parts, partitions)
    store[name] = pv
    return pv
