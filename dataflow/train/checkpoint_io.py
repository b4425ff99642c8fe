"""TensorFlow's checkpoint format V2 ("tensor bundle"), read and written, and the ``checkpoint`` state file.

A checkpoint is a *prefix* (``dir/model.ckpt-7``) and the files it names:

* ``PREFIX.data-00000-of-00001``: the tensors' raw little-endian bytes, one after another; a string
  tensor is its lengths (varint64), a masked crc32c of the lengths, then its bytes (:func:`encode_strings`).
* ``PREFIX.index``: an SSTable (:mod:`dataflow.train.sstable`) whose key ``""`` holds a
  ``BundleHeaderProto`` (num_shards, endianness, version) and whose other keys, the tensor names in
  sorted order, hold a ``BundleEntryProto`` each (dtype, shape, shard_id, offset, size, masked crc32c
  of the bytes).
* ``dir/checkpoint``: a ``CheckpointState`` in protobuf text format (``model_checkpoint_path``, then
  every kept ``all_model_checkpoint_paths``), the pointer ``tf.train.latest_checkpoint`` follows.

The protos are declared here (``descriptor_pb2``, package ``dataflow.checkpoint``) on top of
TensorBoard's copies of ``TensorShapeProto``/``DataType``/``VersionDef``: the wire and text formats do
not carry the package name, so TensorFlow reads what we write and we read what it writes.

**Never lose a checkpoint.** :func:`write_bundle` writes the data file, then the index, each to a
temporary file in the same folder that is renamed over the final name (on object stores, one put per
file), so an index exists only when its data is complete; :func:`write_state` replaces the state file
the same way, after the bundle. A crash at any point therefore leaves the state file naming a complete
checkpoint. :class:`BundleReader` never unpickles: it checks the index (every block crc), then each
tensor's dtype, shape, byte count and crc32c against the index, and raises DataLossError naming the
file on any mismatch.
"""

from __future__ import annotations

import os
import posixpath
import uuid

import functools
import struct
import types

import fsspec
import numpy as np

from ..framework import dtypes, graph_def
from ..framework.errors import DataLossError, NotFoundError, UnimplementedError
from .sstable import build_table, crc32c, decode_varint, encode_varint, mask, read_table, unmask_crc32c


# ---- protos (built on first use: protobuf and tensorboard are imported lazily) -----------------
def _message(name, fields):
    from google.protobuf import descriptor_pb2

    _F = descriptor_pb2.FieldDescriptorProto
    msg = descriptor_pb2.DescriptorProto(name=name)
    for number, (fname, ftype, label, type_name) in enumerate(fields, start=1):
        if fname is None:
            continue
        field = msg.field.add(name=fname, number=number, type=ftype, label=label or _F.LABEL_OPTIONAL)
        if type_name:
            field.type_name = type_name
    return msg


@functools.lru_cache(maxsize=None)
def protos():
    """The message classes BundleHeaderProto, BundleEntryProto, CheckpointState (and ``text_format``)."""
    try:
        from google.protobuf import descriptor_pb2, descriptor_pool, message_factory, text_format
        from tensorboard.compat.proto import tensor_shape_pb2, types_pb2, versions_pb2
    except ImportError as e:
        raise ImportError(f"Checkpoints need the protobuf and tensorboard packages: pip install tensorboard ({e})")
    _F = descriptor_pb2.FieldDescriptorProto
    file = descriptor_pb2.FileDescriptorProto(
        name="dataflow/checkpoint.proto", package="dataflow.checkpoint", syntax="proto3",
        dependency=[tensor_shape_pb2.DESCRIPTOR.name, types_pb2.DESCRIPTOR.name, versions_pb2.DESCRIPTOR.name])
    header = _message("BundleHeaderProto", [
        ("num_shards", _F.TYPE_INT32, None, None),
        ("endianness", _F.TYPE_ENUM, None, ".dataflow.checkpoint.BundleHeaderProto.Endianness"),
        ("version", _F.TYPE_MESSAGE, None, ".tensorboard.VersionDef")])
    header.enum_type.add(name="Endianness").value.extend(
        [descriptor_pb2.EnumValueDescriptorProto(name="LITTLE", number=0),
         descriptor_pb2.EnumValueDescriptorProto(name="BIG", number=1)])
    entry = _message("BundleEntryProto", [
        ("dtype", _F.TYPE_ENUM, None, ".tensorboard.DataType"),
        ("shape", _F.TYPE_MESSAGE, None, ".tensorboard.TensorShapeProto"),
        ("shard_id", _F.TYPE_INT32, None, None),
        ("offset", _F.TYPE_INT64, None, None),
        ("size", _F.TYPE_INT64, None, None),
        ("crc32c", _F.TYPE_FIXED32, None, None),
        ("slices", _F.TYPE_MESSAGE, _F.LABEL_REPEATED, ".dataflow.checkpoint.TensorSliceProto")])
    tslice = _message("TensorSliceProto", [
        ("extent", _F.TYPE_MESSAGE, _F.LABEL_REPEATED, ".dataflow.checkpoint.TensorSliceProto.Extent")])
    extent = _message("Extent", [("start", _F.TYPE_INT64, None, None), ("length", _F.TYPE_INT64, None, None)])
    extent.oneof_decl.add(name="has_length")  # TF: a missing length is the whole axis
    extent.field[1].oneof_index = 0
    tslice.nested_type.append(extent)
    state = _message("CheckpointState", [
        ("model_checkpoint_path", _F.TYPE_STRING, None, None),
        ("all_model_checkpoint_paths", _F.TYPE_STRING, _F.LABEL_REPEATED, None),
        ("all_model_checkpoint_timestamps", _F.TYPE_DOUBLE, _F.LABEL_REPEATED, None),
        ("last_preserved_timestamp", _F.TYPE_DOUBLE, None, None)])
    file.message_type.extend([header, entry, state, tslice])
    pool = descriptor_pool.Default()
    try:
        pool.FindFileByName(file.name)
    except KeyError:
        pool.AddSerializedFile(file.SerializeToString())
    make = getattr(message_factory, "GetMessageClass", None) or message_factory.MessageFactory(pool).GetPrototype
    classes = {n: make(pool.FindMessageTypeByName(f"dataflow.checkpoint.{n}"))
               for n in ("BundleHeaderProto", "BundleEntryProto", "CheckpointState", "TensorSliceProto")}
    return types.SimpleNamespace(text_format=text_format, VersionDef=versions_pb2.VersionDef,
                                 DataType=types_pb2.DataType, **classes)


def dtype_enum(dtype) -> int:
    """The ``DataType`` enum value of a dataflow dtype."""
    return graph_def.dtype_enum(dtypes.as_dtype(dtype))


def dtype_from_enum(enum: int):
    """The dtype of a ``DataType`` enum value, or None for one we do not know."""
    try:
        return graph_def.dtype_from_enum(enum)
    except (KeyError, ValueError, TypeError):
        return None


def tf_dtype_name(dtype) -> str:
    """TensorFlow's ``DataTypeString`` of a dtype (``float``, ``double``, ``int64``...)."""
    return protos().DataType.Name(dtype_enum(dtype))[3:].lower()


# ---- files on fsspec --------------------------------------------------------------------------
def dirname(url: str) -> str:
    return posixpath.dirname(url)


def join(directory: str, name: str) -> str:
    if "://" in name or name.startswith("/") or not directory:
        return name
    return directory.rstrip("/") + "/" + name


def exists(url: str) -> bool:
    fs, path = fsspec.core.url_to_fs(url)
    return fs.exists(path)


def read_bytes(url: str) -> bytes:
    fs, path = fsspec.core.url_to_fs(url)
    try:
        with fs.open(path, "rb") as f:
            return f.read()
    except FileNotFoundError:
        raise NotFoundError(None, None, f"{url}; No such file or directory") from None


def remove(url: str) -> None:
    fs, path = fsspec.core.url_to_fs(url)
    try:
        fs.rm_file(path)
    except FileNotFoundError:
        pass


def write_atomic(url: str, chunks) -> None:
    """Write ``chunks`` (bytes-like) to ``url`` so that it appears whole or not at all.

    A local file is written to a temporary name in the same folder, fsynced and renamed over ``url``;
    on other filesystems (object stores, memory://) the file is one put.
    """
    fs, path = fsspec.core.url_to_fs(url)
    if "file" not in fs.protocol and "local" not in fs.protocol:
        fs.pipe_file(path, b"".join(bytes(memoryview(c).cast("B")) for c in chunks))
        return
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    tmp = os.path.join(folder, f".{os.path.basename(path)}.tmp{uuid.uuid4().hex}")
    try:
        with open(tmp, "wb") as f:
            for c in chunks:
                f.write(c)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.remove(tmp)
        raise
    dir_fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(dir_fd)  # the rename itself survives a power cut
    finally:
        os.close(dir_fd)


# ---- bundles ----------------------------------------------------------------------------------
def index_file(prefix: str) -> str:
    return prefix + ".index"


def data_file(prefix: str, shard: int = 0, num_shards: int = 1) -> str:
    return f"{prefix}.data-{shard:05d}-of-{num_shards:05d}"


def _length_crc(n: int, crc: int) -> int:
    # TF checksums each string length as a little-endian uint32 (uint64 past 4 GiB), not its varint
    return crc32c(struct.pack("<I", n) if n <= 0xFFFFFFFF else struct.pack("<Q", n), crc)


def encode_strings(arr: np.ndarray) -> tuple[bytes, int]:
    """TF's layout of a string tensor: varint64 lengths, the masked crc of the lengths, the bytes.

    Returns the bytes and the crc32c (unmasked) that the index entry stores masked: over the lengths
    (as integers), the 4 checksum bytes and the string bytes.
    """
    items = [x if isinstance(x, bytes) else str(x).encode() for x in arr.ravel()]
    crc = 0
    for item in items:
        crc = _length_crc(len(item), crc)
    check = struct.pack("<I", mask(crc))
    body = b"".join(items)
    return b"".join(encode_varint(len(x)) for x in items) + check + body, crc32c(body, crc32c(check, crc))


def decode_strings(raw: bytes, count: int) -> tuple[list, int]:
    """The ``count`` strings in ``raw`` (ValueError if the layout or its length checksum is wrong) and the
    crc32c to compare with the index entry's."""
    pos, crc, lengths = 0, 0, []
    for _ in range(count):
        n, pos = decode_varint(raw, pos, len(raw))
        lengths.append(n)
        crc = _length_crc(n, crc)
    if pos + 4 > len(raw) or struct.unpack_from("<I", raw, pos)[0] != mask(crc):
        raise ValueError("string lengths checksum mismatch")
    crc, pos = crc32c(raw[pos:pos + 4], crc), pos + 4
    if pos + sum(lengths) != len(raw):
        raise ValueError(f"string lengths add up to {sum(lengths)} bytes, {len(raw) - pos} are there")
    out = []
    for n in lengths:
        out.append(bytes(raw[pos:pos + n]))
        pos += n
    return out, crc32c(raw[pos - sum(lengths):], crc)


def write_bundle(prefix: str, tensors: dict, shard_of: dict | None = None, num_shards: int = 1,
                 sliced: dict | None = None) -> None:
    """Write ``tensors`` as a V2 checkpoint at ``prefix``: the data files first, then the index.

    Parameters
    ----------
    tensors : dict
        Key (a name, or the bytes of :func:`checkpoint_slices.slice_key`) -> array.
    shard_of : dict, optional
        Key -> data file number (``Saver(sharded=True)``: one per device); default all in shard 0.
    num_shards : int
        How many data files (``PREFIX.data-0000i-of-0000N``).
    sliced : dict, optional
        Full name -> ``(dtype, full shape, [(starts, lengths), ...])`` of partitioned variables: their
        entries, holding the slices' extents and no data (their slices are in ``tensors``).
    """
    from .checkpoint_slices import slice_proto

    chunks = [[] for _ in range(num_shards)]
    offsets, entries = [0] * num_shards, []
    keys = {(k.encode() if isinstance(k, str) else k): k for k in tensors}
    for key in sorted(keys):
        arr = np.asarray(tensors[keys[key]])
        shard = (shard_of or {}).get(keys[key], 0)
        enum = dtype_enum(dtypes.as_dtype(arr.dtype))
        if arr.dtype.kind in "OSU":
            raw, crc = encode_strings(arr)
        else:
            raw = np.ascontiguousarray(arr, dtype=arr.dtype.newbyteorder("<")).tobytes()
            crc = crc32c(raw)
        entry = protos().BundleEntryProto(dtype=enum, shard_id=shard, offset=offsets[shard], size=len(raw),
                                          crc32c=mask(crc))
        for d in arr.shape:
            entry.shape.dim.add(size=d)
        chunks[shard].append(raw)
        entries.append((key, entry.SerializeToString()))
        offsets[shard] += len(raw)
    for name, (dtype, full_shape, pieces) in (sliced or {}).items():
        entry = protos().BundleEntryProto(dtype=dtype_enum(dtype))
        for d in full_shape:
            entry.shape.dim.add(size=d)
        for starts, lengths in sorted(pieces):
            entry.slices.append(slice_proto(protos().TensorSliceProto, starts, lengths))
        entries.append((name.encode(), entry.SerializeToString()))
    header = protos().BundleHeaderProto(num_shards=num_shards, endianness=0, version=protos().VersionDef(producer=1))
    for shard in range(num_shards):
        write_atomic(data_file(prefix, shard, num_shards), chunks[shard])
    entries.sort()
    write_atomic(index_file(prefix), [build_table([(b"", header.SerializeToString())] + entries)])


def checkpoint_exists(prefix: str) -> bool:
    """Whether a V2 checkpoint's index (written last, atomically) exists at ``prefix``."""
    return exists(index_file(prefix))


def delete_bundle(prefix: str) -> None:
    """Remove a checkpoint's files: index first, so a half-deleted one is never taken as complete."""
    remove(index_file(prefix))
    fs, path = fsspec.core.url_to_fs(prefix)
    for p in fs.glob(path + ".data-?????-of-?????") + [path + ".meta"]:
        try:
            fs.rm_file(p)
        except FileNotFoundError:
            pass


class BundleReader:
    """Reads a V2 checkpoint, validating everything against its index.

    Parameters
    ----------
    prefix : str
        The checkpoint prefix (``dir/model.ckpt-7``), an fsspec URL or local path.
    """

    def __init__(self, prefix: str):
        self.prefix = prefix
        self._index_name = index_file(prefix)
        if not exists(self._index_name):
            raise NotFoundError(None, None, f"Unsuccessful TensorSliceReader constructor: Failed to find any "
                                            f"matching files for {prefix}")
        table = read_table(read_bytes(self._index_name), self._index_name)
        self.entries: dict[str, object] = {}
        self._slice_entries: dict[bytes, object] = {}  # slices of partitioned variables, by binary key
        try:
            header = protos().BundleHeaderProto.FromString(table.pop(b"", b""))
            for key, value in table.items():
                entry = protos().BundleEntryProto.FromString(value)
                if key[:1] == b"\x00":
                    self._slice_entries[key] = entry
                else:
                    self.entries[key.decode()] = entry
        except Exception as e:  # a decode error of a crc-valid index: written by something else
            raise DataLossError(None, None, f"Corrupted checkpoint index file {self._index_name}: {e}") from None
        if header.endianness != 0:
            raise UnimplementedError(None, None, f"{self._index_name}: big-endian checkpoints are not supported")
        self.num_shards = max(header.num_shards, 1)
        self._data: dict[int, bytes] = {}

    def _loss(self, name, shard, what) -> DataLossError:
        return DataLossError(None, None, f"Checkpoint {data_file(self.prefix, shard, self.num_shards)} is "
                                         f"corrupted: tensor {name}: {what}")

    def _entry(self, name: str):
        if name not in self.entries:
            raise NotFoundError(None, None, f"Key {name} not found in checkpoint")
        return self.entries[name]

    def dtype(self, name: str):
        enum = self._entry(name).dtype
        dtype = dtype_from_enum(enum)
        if dtype is None:
            raise DataLossError(None, None, f"Corrupted checkpoint index file {self._index_name}: tensor "
                                            f"{name} has an invalid dtype enum {enum}")
        return dtype

    def shape(self, name: str) -> list:
        dims = [d.size for d in self._entry(name).shape.dim]
        if any(d < 0 for d in dims):
            raise DataLossError(None, None, f"Corrupted checkpoint index file {self._index_name}: tensor "
                                            f"{name} has a negative dimension {dims}")
        return dims

    def tensor(self, name: str) -> np.ndarray:
        """The tensor ``name``, after checking its size and crc32c against the index (a partitioned
        variable's slices assembled)."""
        entry = self._entry(name)
        if entry.slices:
            return self._assembled(name, entry)
        return self._read(name, entry, self.dtype(name), self.shape(name))

    def _assembled(self, name: str, entry) -> np.ndarray:
        from .checkpoint_slices import assemble, slice_bounds, slice_key

        dtype, shape = self.dtype(name), self.shape(name)
        pieces = []
        for sl in entry.slices:
            starts, lengths, key_lengths = slice_bounds(sl, shape)
            key = slice_key(name, starts, key_lengths)
            part = self._slice_entries.get(key)
            if part is None:
                raise DataLossError(None, None, f"Corrupted checkpoint index file {self._index_name}: tensor {name} "
                                                f"lists a slice {starts}+{lengths} that is not in the index")
            pieces.append((starts, lengths, self._read(name, part, dtype, list(lengths))))
        return assemble(shape, object if dtype is dtypes.string else dtype.as_numpy_dtype, pieces)

    def _read(self, name: str, entry, dtype, shape) -> np.ndarray:
        if [d.size for d in entry.shape.dim] != list(shape):
            raise self._loss(name, entry.shard_id, f"a slice's shape {[d.size for d in entry.shape.dim]} is not "
                                                   f"{list(shape)}")
        shard = entry.shard_id
        if not 0 <= shard < self.num_shards:
            raise DataLossError(None, None, f"Corrupted checkpoint index file {self._index_name}: tensor "
                                            f"{name} names shard {shard} of {self.num_shards}")
        count = int(np.prod(shape, dtype=np.int64))
        npd = None if dtype is dtypes.string else np.dtype(dtype.as_numpy_dtype).newbyteorder("<")
        if npd is not None and entry.size != count * npd.itemsize:
            raise self._loss(name, shard, f"the index says {entry.size} bytes, its dtype {dtype.name} and "
                                          f"shape {shape} need {count * npd.itemsize}")
        if shard not in self._data:
            self._data[shard] = read_bytes(data_file(self.prefix, shard, self.num_shards))
        data = self._data[shard]
        if entry.offset < 0 or entry.offset + entry.size > len(data):
            raise self._loss(name, shard, f"bytes [{entry.offset}, {entry.offset + entry.size}) are past the "
                                          f"end of the file ({len(data)} bytes): truncated?")
        raw = data[entry.offset:entry.offset + entry.size]
        if npd is None:
            try:
                items, crc = decode_strings(raw, count)
            except ValueError as e:
                raise self._loss(name, shard, str(e)) from None
        else:
            crc = crc32c(raw)
        if crc != unmask_crc32c(entry.crc32c):
            raise self._loss(name, shard, "crc32c mismatch")
        if npd is None:
            out = np.empty(count, dtype=object)
            out[:] = items
            return out.reshape(shape)
        return np.frombuffer(raw, dtype=npd).astype(npd.newbyteorder("="), copy=True).reshape(shape)


# ---- the state file ---------------------------------------------------------------------------
def state_file(directory: str, latest_filename: str | None = None) -> str:
    return join(directory, latest_filename or "checkpoint")


def write_state(directory: str, model_checkpoint_path: str, all_model_checkpoint_paths=None,
                all_model_checkpoint_timestamps=None, last_preserved_timestamp=None,
                latest_filename: str | None = None) -> None:
    """Atomically replace the state file of ``directory`` with a ``CheckpointState`` in text format."""
    paths = list(all_model_checkpoint_paths or [])
    if not paths or paths[-1] != model_checkpoint_path:
        paths = [p for p in paths if p != model_checkpoint_path] + [model_checkpoint_path]
    state = protos().CheckpointState(model_checkpoint_path=model_checkpoint_path,
                                     all_model_checkpoint_paths=paths)
    if all_model_checkpoint_timestamps is not None:
        state.all_model_checkpoint_timestamps.extend(all_model_checkpoint_timestamps)
    if last_preserved_timestamp is not None:
        state.last_preserved_timestamp = last_preserved_timestamp
    write_atomic(state_file(directory, latest_filename), [protos().text_format.MessageToString(state).encode()])


def read_state(directory: str, latest_filename: str | None = None):
    """The ``CheckpointState`` of ``directory`` (relative paths made absolute), or None if there is none."""
    url = state_file(directory, latest_filename)
    if not exists(url):
        return None
    text_format = protos().text_format
    try:
        state = text_format.Parse(read_bytes(url).decode(), protos().CheckpointState())
    except (text_format.ParseError, UnicodeDecodeError) as e:
        raise DataLossError(None, None, f"Corrupted checkpoint state file {url}: {e}") from None
    if not state.model_checkpoint_path:
        raise DataLossError(None, None, f"Invalid checkpoint state loaded from {url}")
    state.model_checkpoint_path = join(directory, state.model_checkpoint_path)
    paths = [join(directory, p) for p in state.all_model_checkpoint_paths]
    del state.all_model_checkpoint_paths[:]
    state.all_model_checkpoint_paths.extend(paths)
    return state
