"""``tf.train.Saver`` and the checkpoint helpers of ``tf.train`` (latest_checkpoint, readers...).

A :class:`Saver` saves by *running* the variables (``sess.run(vars)``) and writing the values as a
V2 checkpoint (:mod:`dataflow.train.checkpoint_io`); it restores by feeding the checkpoint's values to
one placeholder + ``Assign`` per variable, built once when the Saver is built (op ``save/restore_all``).
Going through the session both ways, it works unchanged wherever the variables live.

Saving writes, in this order, the data file, the index, the ``.meta`` graph, the state file (each
replaced atomically), and only then deletes the checkpoints that ``max_to_keep`` drops (keeping one
every ``keep_checkpoint_every_n_hours``): a crash at any point leaves ``latest_checkpoint`` naming a
complete checkpoint.
"""

from __future__ import annotations

import os
import time

import numpy as np

from ..framework import dtypes
from ..framework.errors import InvalidArgumentError, NotFoundError
from ..framework.graph import GraphKeys, get_default_graph
from . import checkpoint_io as io

_RESTORE_HINT = ("Restoring from checkpoint failed. This is most likely due to a Variable name or other graph "
                 "key that is missing from the checkpoint. Please ensure that you have not altered the graph "
                 "expected based on the checkpoint. Original error:\n\n")


def _parts(v) -> list:
    return v._get_variable_list() if hasattr(v, "_get_variable_list") else [v]


def _saveables(var_list) -> list:
    """``[(checkpoint key, variable, SaveSliceInfo or None)]``, sorted: a part of a partitioned variable
    is saved under its full variable's name, as a slice."""
    if var_list is None:
        graph = get_default_graph()
        var_list = graph.get_collection(GraphKeys.GLOBAL_VARIABLES) + graph.get_collection("saveable_objects")
    pairs = []
    if isinstance(var_list, dict):
        for key, v in var_list.items():
            parts = _parts(v) if not isinstance(v, (list, tuple)) else list(v)
            pairs += [(key, p) for p in parts]
    else:
        for v in var_list:
            for p in _parts(v):
                info = getattr(p, "_save_slice_info", None)
                pairs.append((info.full_name if info is not None else p.op.name, p))
    out, whole, sliced = [], set(), set()
    for key, v in pairs:
        info = getattr(v, "_save_slice_info", None)
        if key in whole or (info is None and key in sliced):
            raise ValueError(f"At least two variables have the same name: {key}")
        (whole if info is None else sliced).add(key)
        out.append((key, v, info))
    return sorted(out, key=lambda e: (e[0], e[2].var_offset if e[2] is not None else []))


def _shape_str(shape) -> str:
    return "[" + ",".join(str(d) for d in shape) + "]"


class Saver:
    """Saves and restores variables (``tf.train.Saver``), in TensorFlow's checkpoint format V2.

    Parameters
    ----------
    var_list : list or dict, optional
        Variables to save (named by their op names), or a dict of checkpoint name -> variable.
        Default: all global variables.
    reshape : bool
        Restore a checkpoint tensor of another shape but the same element count by reshaping it.
    sharded : bool
        Write one data file per device of the variables (``PREFIX.data-0000i-of-0000N``, devices in
        sorted order as TF), with one index.
    max_to_keep : int
        How many recent checkpoints to keep (None or 0: keep all).
    keep_checkpoint_every_n_hours : float
        Keep one checkpoint every so many hours besides the ``max_to_keep`` most recent.
    save_relative_paths : bool
        Write paths relative to the folder in the state file.
    defer_build : bool
        Build the restore ops at the first :meth:`build`, save or restore instead of now.

    Examples
    --------
    >>> import dataflow as tf
    >>> v = tf.Variable([1.0, 2.0], name="v")
    >>> saver = tf.train.Saver()
    >>> with tf.Session() as sess:                                   # doctest: +SKIP
    ...     sess.run(v.initializer)
    ...     path = saver.save(sess, "/tmp/model.ckpt", global_step=3)   # '/tmp/model.ckpt-3'
    ...     saver.restore(sess, tf.train.latest_checkpoint("/tmp"))
    """

    def __init__(self, var_list=None, reshape=False, sharded=False, max_to_keep=5,
                 keep_checkpoint_every_n_hours=10000.0, name=None, restore_sequentially=False, saver_def=None,
                 builder=None, defer_build=False, allow_empty=False, write_version=2, pad_step_number=False,
                 save_relative_paths=False, filename=None):
        self._var_list = var_list
        self._reshape = reshape
        self._sharded = sharded
        self._max_to_keep = max_to_keep
        self._keep_hours = keep_checkpoint_every_n_hours
        self._next_keep_time = time.time() + keep_checkpoint_every_n_hours * 3600
        self._name = name or "save"
        self._allow_empty = allow_empty
        self._pad_step_number = pad_step_number
        self._save_relative_paths = save_relative_paths
        self._filename = filename
        self._last_checkpoints: list[tuple[str, float]] = []
        self._built = False
        if not defer_build:
            self.build()

    # ---- building ----------------------------------------------------------------------------
    def build(self) -> None:
        """Build the restore graph (a placeholder and an Assign per variable)."""
        from ..ops.constant import group, placeholder
        from ..ops.state import assign

        if self._built:
            return
        self._items = _saveables(self._var_list)
        if not self._items and not self._allow_empty:
            raise ValueError("No variables to save")
        graph = self._items[0][1].graph if self._items else get_default_graph()
        self._graph = graph
        self._feeds, assigns = [], []
        with graph.as_default(), graph.name_scope(self._name):
            for i, (_, v, _) in enumerate(self._items):
                dtype = dtypes.as_dtype(v.dtype).base_dtype
                shape = v.shape if v.shape.is_fully_defined() else None
                ph = placeholder(dtype, shape, name=f"restore_value_{i}")
                self._feeds.append(ph)
                assigns.append(assign(v, ph, validate_shape=shape is not None, name=f"Assign_{i}"))
            self._restore_op = group(*assigns, name="restore_all")
        self._fetches = [(v.value() if hasattr(v, "value") else v) for _, v, _ in self._items]
        self._built = True

    # ---- saving ------------------------------------------------------------------------------
    @property
    def last_checkpoints(self) -> list:
        """The checkpoints not deleted yet, oldest first."""
        return [p for p, _ in self._last_checkpoints]

    def set_last_checkpoints_with_time(self, last_checkpoints_with_time) -> None:
        self._last_checkpoints = [(p, float(t)) for p, t in last_checkpoints_with_time]

    def set_last_checkpoints(self, last_checkpoints) -> None:
        self.set_last_checkpoints_with_time([(p, time.time()) for p in last_checkpoints])

    def recover_last_checkpoints(self, checkpoint_paths) -> None:
        """Take over the checkpoints that still exist in ``checkpoint_paths`` (e.g. after a restart)."""
        self.set_last_checkpoints([p for p in checkpoint_paths if io.checkpoint_exists(p)])

    def save(self, sess, save_path, global_step=None, latest_filename=None, meta_graph_suffix="meta",
             write_meta_graph=True, write_state=True, strip_default_attrs=False, save_debug_info=False):
        """Save the variables at ``save_path`` (``-<global_step>`` appended); return the prefix written."""
        self.build()
        if latest_filename is None:
            latest_filename = "checkpoint"
        elif os.path.basename(latest_filename) != latest_filename:
            raise ValueError("'latest_filename' collides with 'save_path': '%s' and '%s'"
                             % (latest_filename, save_path))
        if global_step is not None:
            step = global_step if isinstance(global_step, (int, np.integer)) else sess.run(global_step)
            prefix = f"{save_path}-{int(step):08d}" if self._pad_step_number else f"{save_path}-{int(step)}"
        else:
            prefix = save_path
        if sess.graph is not self._graph:
            raise RuntimeError("The Session graph is not the graph of this Saver's variables.")
        self._write(prefix, sess.run(self._fetches))
        if write_meta_graph:
            self._write_meta_graph(prefix + "." + meta_graph_suffix)
        if write_state:
            self._record(prefix, io.dirname(save_path), latest_filename)
        return prefix

    def _write(self, prefix: str, values: list) -> None:
        """Write the values of ``self._items``: slices of partitioned variables under their full name,
        one data file per device when sharded."""
        from ..framework.device import canonical_device
        from .checkpoint_slices import slice_key

        devices = sorted({canonical_device(v.device) for _, v, _ in self._items}) if self._sharded else [""]
        tensors, shard_of, sliced = {}, {}, {}
        for (key, v, info), value in zip(self._items, values):
            shard = devices.index(canonical_device(v.device)) if self._sharded else 0
            if info is not None:
                entry = sliced.setdefault(key, (dtypes.as_dtype(v.dtype).base_dtype, info.full_shape, []))
                entry[2].append((info.var_offset, info.var_shape))
                key = slice_key(key, info.var_offset, info.var_shape)
            tensors[key], shard_of[key] = value, shard
        io.write_bundle(prefix, tensors, shard_of, max(len(devices), 1), sliced)

    def as_saver_def(self):
        """This Saver's ``SaverDef`` protobuf (its restore op's name, ``max_to_keep``...)."""
        from tensorboard.compat.proto import saver_pb2

        self.build()
        return saver_pb2.SaverDef(restore_op_name=self._restore_op.name, max_to_keep=self._max_to_keep or 0,
                                  keep_checkpoint_every_n_hours=self._keep_hours, sharded=bool(self._sharded),
                                  version=saver_pb2.SaverDef.V2)

    def export_meta_graph(self, filename=None, collection_list=None, as_text=False, export_scope=None,
                          clear_devices=False, clear_extraneous_savers=False, strip_default_attrs=False,
                          save_debug_info=False):
        """``tf.train.export_meta_graph`` of this Saver's graph with its SaverDef."""
        from .meta_graph import export_meta_graph

        return export_meta_graph(filename=filename, saver_def=self.as_saver_def(), collection_list=collection_list,
                                 as_text=as_text, graph=self._graph, export_scope=export_scope,
                                 clear_devices=clear_devices)

    def _write_meta_graph(self, url: str) -> None:
        self.export_meta_graph(url)

    def _record(self, prefix: str, save_dir: str, latest_filename: str) -> None:
        now = time.time()
        self._last_checkpoints = [(p, t) for p, t in self._last_checkpoints if p != prefix] + [(prefix, now)]
        to_delete = []
        while self._max_to_keep and len(self._last_checkpoints) > self._max_to_keep:
            path, stamp = self._last_checkpoints.pop(0)
            if stamp > self._next_keep_time:
                self._next_keep_time += self._keep_hours * 3600
            else:
                to_delete.append(path)

        def rel(p):
            return os.path.basename(p) if self._save_relative_paths else p

        io.write_state(save_dir, rel(prefix), [rel(p) for p, _ in self._last_checkpoints],
                       [t for _, t in self._last_checkpoints], self._next_keep_time - self._keep_hours * 3600,
                       latest_filename)
        for path in to_delete:  # only once the state file no longer names them
            io.delete_bundle(path)

    # ---- restoring ---------------------------------------------------------------------------
    def restore(self, sess, save_path) -> None:
        """Assign the variables their values in the checkpoint ``save_path``.

        Raises
        ------
        ValueError
            ``save_path`` is None or names no checkpoint.
        NotFoundError
            A variable is missing from the checkpoint.
        InvalidArgumentError
            A checkpoint tensor's dtype or shape does not match its variable.
        DataLossError
            The checkpoint files are truncated or corrupted.
        """
        self.build()
        if save_path is None:
            raise ValueError("Can't load save_path when it is None.")
        if not io.checkpoint_exists(save_path):
            raise ValueError("The passed save_path is not a valid checkpoint: " + save_path)
        from .checkpoint_slices import region

        reader = io.BundleReader(save_path)
        feed, full = {}, {}
        for (name, var, info), ph in zip(self._items, self._feeds):
            if name not in reader.entries:
                raise NotFoundError(None, None, f"{_RESTORE_HINT}Key {name} not found in checkpoint")
            if name not in full:  # validated first: a bad entry is DataLossError
                full[name] = reader.tensor(name)
            value = full[name]
            if info is not None:
                if list(value.shape) != info.full_shape:
                    raise InvalidArgumentError(None, None, f"{_RESTORE_HINT}tensor_name = {name}; the partitioned "
                                                           f"variable's full shape {_shape_str(info.full_shape)} "
                                                           f"is not the checkpoint's {_shape_str(value.shape)}")
                value = value[region(info.var_offset, info.var_shape)]
            want, have = dtypes.as_dtype(var.dtype).base_dtype, reader.dtype(name)
            if want is not have:
                raise InvalidArgumentError(None, None, f"{_RESTORE_HINT}tensor_name = {name}; expected dtype "
                                                       f"{io.tf_dtype_name(want)} does not equal original dtype "
                                                       f"{io.tf_dtype_name(have)}")
            shape = var.shape
            if shape.is_fully_defined() and tuple(value.shape) != tuple(shape.as_list()):
                if self._reshape and value.size == shape.num_elements():
                    value = value.reshape(shape.as_list())
                else:
                    raise InvalidArgumentError(None, None, f"{_RESTORE_HINT}Assign requires shapes of both "
                                                           f"tensors to match. lhs shape= "
                                                           f"{_shape_str(shape.as_list())} rhs shape= "
                                                           f"{_shape_str(value.shape)} (variable {name})")
            feed[ph] = value
        sess.run(self._restore_op, feed)


# ---- tf.train's checkpoint helpers ------------------------------------------------------------
def get_checkpoint_state(checkpoint_dir, latest_filename=None):
    """The ``CheckpointState`` proto of ``checkpoint_dir`` (paths made absolute), or None."""
    return io.read_state(checkpoint_dir, latest_filename)


def latest_checkpoint(checkpoint_dir, latest_filename=None):
    """The prefix of the newest complete checkpoint in ``checkpoint_dir``, or None."""
    state = io.read_state(checkpoint_dir, latest_filename)
    if state is not None and io.checkpoint_exists(state.model_checkpoint_path):
        return state.model_checkpoint_path
    return None


def checkpoint_exists(checkpoint_prefix) -> bool:
    """Whether a complete V2 checkpoint exists at ``checkpoint_prefix``."""
    return io.checkpoint_exists(checkpoint_prefix)


def update_checkpoint_state(save_dir, model_checkpoint_path, all_model_checkpoint_paths=None,
                            latest_filename=None, all_model_checkpoint_timestamps=None,
                            last_preserved_timestamp=None) -> None:
    """Atomically rewrite the state file of ``save_dir``."""
    io.write_state(save_dir, model_checkpoint_path, all_model_checkpoint_paths, all_model_checkpoint_timestamps,
                   last_preserved_timestamp, latest_filename)


def generate_checkpoint_state_proto(save_dir, model_checkpoint_path, all_model_checkpoint_paths=None,
                                    all_model_checkpoint_timestamps=None, last_preserved_timestamp=None):
    paths = list(all_model_checkpoint_paths or [])
    if not paths or paths[-1] != model_checkpoint_path:
        paths.append(model_checkpoint_path)
    state = io.protos().CheckpointState(model_checkpoint_path=model_checkpoint_path, all_model_checkpoint_paths=paths)
    state.all_model_checkpoint_timestamps.extend(all_model_checkpoint_timestamps or [])
    if last_preserved_timestamp is not None:
        state.last_preserved_timestamp = last_preserved_timestamp
    return state


class CheckpointReader:
    """Reads tensors of a checkpoint (``tf.train.NewCheckpointReader``)."""

    def __init__(self, prefix: str):
        self._reader = io.BundleReader(prefix)

    def has_tensor(self, name: str) -> bool:
        return name in self._reader.entries

    def get_tensor(self, name: str) -> np.ndarray:
        return self._reader.tensor(name)

    def get_variable_to_shape_map(self) -> dict:
        return {n: self._reader.shape(n) for n in self._reader.entries}

    def get_variable_to_dtype_map(self) -> dict:
        return {n: self._reader.dtype(n) for n in self._reader.entries}

    def debug_string(self) -> bytes:
        return "".join(f"{n} ({self._reader.dtype(n).name}) {self._reader.shape(n)}\n"
                       for n in sorted(self._reader.entries)).encode()


def NewCheckpointReader(filepattern: str) -> CheckpointReader:  # noqa: N802 (TF's name)
    return CheckpointReader(filepattern)


def _prefix_of(ckpt_dir_or_file: str) -> str:
    if io.checkpoint_exists(ckpt_dir_or_file):
        return ckpt_dir_or_file
    prefix = latest_checkpoint(ckpt_dir_or_file)
    if prefix is None:
        raise ValueError(f"Couldn't find 'checkpoint' file or checkpoints in given directory {ckpt_dir_or_file}")
    return prefix


def load_checkpoint(ckpt_dir_or_file: str) -> CheckpointReader:
    """A reader of the checkpoint ``ckpt_dir_or_file`` (a prefix, or a folder's latest checkpoint)."""
    return CheckpointReader(_prefix_of(ckpt_dir_or_file))


def list_variables(ckpt_dir_or_file: str) -> list:
    """Sorted ``(name, shape)`` pairs of the tensors in a checkpoint."""
    shapes = load_checkpoint(ckpt_dir_or_file).get_variable_to_shape_map()
    return [(n, shapes[n]) for n in sorted(shapes)]


def load_variable(ckpt_dir_or_file: str, name: str) -> np.ndarray:
    """The value of tensor ``name`` (``:0`` suffix allowed) in a checkpoint."""
    if name.endswith(":0"):
        name = name[:-2]
    return load_checkpoint(ckpt_dir_or_file).get_tensor(name)
