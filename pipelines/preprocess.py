"""Large preprocessing jobs on Dask: map a function over input shards, write sharded TFRecords.

A job turns a *source* into ``num_shards`` output files ``{prefix}-00000-of-00016.tfrecord`` in an output
folder (any fsspec URL). The source is one of:

- file patterns or URLs of TFRecord files (``"data/train-*.tfrecord"``): each record is an item;
- a ``dask.bag.Bag`` (one output shard per partition, repartitioned to ``num_shards`` if needed);
- any other sequence of Python items (split into ``num_shards`` partitions).

**Work plan.** Output shard ``k`` is one Dask task that reads only its own inputs, so the plan is known
before anything runs. With at least as many input files as shards, shard ``k`` reads files
``k, k + S, k + 2S, ...``; with fewer files, the shards are dealt round-robin over the files and the
``j``-th of the ``m`` shards of a file takes its records ``j, j + m, ...``. For a bag, shard ``k`` is
partition ``k``.

**The function.** ``fn(item)`` returns a record (``bytes``), a ``tf.train.Example``, a dict of features
(made into an Example: ints -> int64_list, floats -> float_list, bytes/str -> bytes_list, arrays
flattened), a list of those, or None (item dropped). With ``graph=True``, ``fn(records)`` instead builds
ops from a string placeholder of a batch of input records and returns a dict of tensors with a leading
batch dimension; each task runs it in its own Session over batches and writes one Example per row.

**Atomic, resumable.** A shard is written under a temporary name in the same folder
(``_tmp.{name}.{uuid}``) and renamed when complete, so a crashed run never leaves a partial shard under
its final name; a rerun skips shards whose final file exists and removes stale temporaries.

**Where it runs.** The local threaded scheduler by default (``scheduler="sync"`` or ``"processes"`` also
work), or a ``dask.distributed.Client`` / scheduler address as ``client``. Progress: dask's
``ProgressBar`` locally, ``distributed.progress`` on a cluster.

Command line::

    python -m pipelines.preprocess --input 'data/raw-*.tfrecord' --output out/ --num-shards 16 \\
        --fn mypackage.prep:transform [--graph] [--compression GZIP] [--client tcp://host:8786]
"""

from __future__ import annotations

import argparse
import importlib
import posixpath
import uuid
from typing import Callable, Iterable

import dask
import dask.bag as db
import numpy as np
from fsspec.core import url_to_fs

from .example import BytesList, Example, Feature, Features, FloatList, Int64List
from .files import expand
from .records import TFRecordWriter, tf_record_iterator

__all__ = ["make_example", "preprocess", "shard_names", "write_digits_shards"]


def shard_names(output_dir: str, num_shards: int, prefix: str = "out") -> list[str]:
    """The URLs of a job's output shards: ``{output_dir}/{prefix}-00000-of-00016.tfrecord``..."""
    base = output_dir.rstrip("/")
    return [f"{base}/{prefix}-{k:05d}-of-{num_shards:05d}.tfrecord" for k in range(num_shards)]


def make_example(features: dict) -> Example:
    """A ``tf.train.Example`` from a dict: ints/bools -> int64_list, floats -> float_list, bytes/str ->
    bytes_list; NumPy arrays and lists are flattened.

    Examples
    --------
    >>> make_example({"label": 3, "xy": [0.5, 1.0]}).features.feature["xy"].float_list.value
    [0.5, 1.0]
    """
    feature = {}
    for key, value in features.items():
        arr = np.asarray(value, dtype=object if isinstance(value, (bytes, str)) else None).reshape(-1)
        if arr.dtype.kind in "OSU":
            feature[key] = Feature(bytes_list=BytesList(
                value=[v.encode() if isinstance(v, str) else bytes(v) for v in arr]))
        elif arr.dtype.kind in "iub":
            feature[key] = Feature(int64_list=Int64List(value=arr.astype(np.int64).tolist()))
        elif arr.dtype.kind == "f":
            feature[key] = Feature(float_list=FloatList(value=arr.astype(np.float32).tolist()))
        else:
            raise TypeError(f"Feature {key!r}: cannot store {arr.dtype} values in an Example")
    return Example(features=Features(feature=feature))


def _records_of(result) -> Iterable[bytes]:
    """The records of one ``fn`` result (see the module docstring)."""
    if result is None:
        return
    if isinstance(result, (bytes, bytearray)):
        yield bytes(result)
    elif isinstance(result, Example):
        yield result.SerializeToString()
    elif isinstance(result, dict):
        yield make_example(result).SerializeToString()
    elif isinstance(result, (list, tuple)) or hasattr(result, "__next__"):
        for r in result:
            yield from _records_of(r)
    elif hasattr(result, "SerializeToString"):
        yield result.SerializeToString()
    else:
        raise TypeError(f"preprocess fn returned {type(result).__name__}: expected bytes, an Example, a dict "
                        "of features, a list of those, or None")


def _graph_records(fn: Callable, items: Iterable[bytes], batch_size: int) -> Iterable[bytes]:
    """Run the graph function ``fn`` over ``items`` in batches, in a Session of its own."""
    import dataflow as tf

    graph = tf.Graph()
    with graph.as_default():
        records = tf.placeholder(tf.string, [None], name="records")
        outputs = fn(records)
    if not isinstance(outputs, dict):
        raise TypeError(f"a graph fn returns a dict of tensors, got {type(outputs).__name__}")
    with tf.Session(graph=graph) as sess:
        batch: list = []
        for item in list(items) + [None]:
            if item is not None:
                batch.append(item)
            if batch and (len(batch) >= batch_size or item is None):
                values = sess.run(outputs, {records: np.array(batch, dtype=object)})
                for i in range(len(batch)):
                    yield make_example({k: v[i] for k, v in values.items()}).SerializeToString()
                batch = []


def _write_shard(url: str, items: Iterable, fn: Callable | None, graph: bool, batch_size: int,
                 compression) -> int:
    """Write one shard atomically: a temporary name in the same folder, renamed when complete."""
    fs, path = url_to_fs(url)
    folder, name = posixpath.split(path)
    tmp = posixpath.join(folder, f"_tmp.{name}.{uuid.uuid4().hex}")
    fs.makedirs(folder, exist_ok=True)
    count = 0
    try:
        with fs.open(tmp, "wb") as f, TFRecordWriter(f, compression) as writer:
            if graph:
                records = _graph_records(fn, items, batch_size)
            else:
                records = (r for item in items for r in _records_of(fn(item) if fn else item))
            for record in records:
                writer.write(record)
                count += 1
        fs.mv(tmp, path)
    except BaseException:
        if fs.exists(tmp):
            fs.rm_file(tmp)
        raise
    return count


class _FileSlice:
    """The records of an output shard read from files: record ``i`` of each file where
    ``i % parts == part`` (a picklable iterable, so a cluster worker reads its own inputs)."""

    def __init__(self, urls: list, part: int, parts: int, compression):
        self.urls, self.part, self.parts, self.compression = urls, part, parts, compression

    def __iter__(self) -> Iterable[bytes]:
        for url in self.urls:
            for i, record in enumerate(tf_record_iterator(url, self.compression)):
                if i % self.parts == self.part:
                    yield record


def _plan_files(files: list, num_shards: int) -> list:
    """Per output shard: (its input files, part, parts) as the module docstring says."""
    if len(files) >= num_shards:
        return [(files[k::num_shards], 0, 1) for k in range(num_shards)]
    per_file = [len(range(i, num_shards, len(files))) for i in range(len(files))]
    return [([files[k % len(files)]], k // len(files), per_file[k % len(files)]) for k in range(num_shards)]


def _remove_stale_temporaries(output_dir: str, prefix: str) -> None:
    fs, path = url_to_fs(output_dir)
    if fs.isdir(path):
        for stale in fs.glob(posixpath.join(path, f"_tmp.{prefix}-*")):
            fs.rm_file(stale)


def preprocess(source, output_dir: str, fn: Callable | None = None, num_shards: int = 16, *,
               prefix: str = "out", graph: bool = False, batch_size: int = 256, input_compression=None,
               compression=None, client=None, scheduler: str = "threads", progress: bool = True) -> list[str]:
    """Map ``fn`` over ``source`` on Dask and write ``num_shards`` TFRecord shards to ``output_dir``.

    Parameters
    ----------
    source : str, list of str, dask.bag.Bag or sequence
        TFRecord file patterns/URLs, a bag, or Python items (see the module docstring).
    output_dir : str
        The output folder (path or fsspec URL).
    fn : callable, optional
        ``fn(item) -> record(s)``; with ``graph=True``, ``fn(records_placeholder) -> dict of tensors``.
        None writes the items as they are (bytes).
    num_shards : int
        The number of output shards.
    prefix : str
        Shard names are ``{prefix}-{k:05d}-of-{num_shards:05d}.tfrecord``.
    graph : bool
        ``fn`` builds a dataflow graph (run in a Session per shard, over batches of ``batch_size``).
    batch_size : int
        Records per ``Session.run`` in graph mode.
    input_compression, compression : str, optional
        Compression of the input and output TFRecords (``"GZIP"``, ``"ZLIB"``).
    client : distributed.Client or str, optional
        A Dask cluster (a client or a scheduler address); the local ``scheduler`` otherwise.
    scheduler : str
        The local scheduler: ``"threads"``, ``"sync"`` or ``"processes"``.
    progress : bool
        Show a progress bar.

    Returns
    -------
    list of str
        The URLs of all ``num_shards`` shards (those written now and those found from an earlier run).

    Examples
    --------
    >>> urls = preprocess([b"a", b"b", b"c"], "memory://prep_doc", num_shards=2, progress=False)
    >>> [len(list(tf_record_iterator(u))) for u in urls]
    [2, 1]
    """
    if num_shards < 1:
        raise ValueError(f"num_shards must be positive, got {num_shards}")
    outputs = shard_names(output_dir, num_shards, prefix)
    _remove_stale_temporaries(output_dir, prefix)
    if isinstance(source, (str, bytes)) or (isinstance(source, (list, tuple)) and source
                                            and all(isinstance(s, str) for s in source)):
        plan = [_FileSlice(files, part, parts, input_compression)
                for files, part, parts in _plan_files(expand(source), num_shards)]
    else:
        bag = source if isinstance(source, db.Bag) else db.from_sequence(list(source), npartitions=num_shards)
        if bag.npartitions != num_shards:
            bag = bag.repartition(num_shards)
        plan = bag.to_delayed()
    run = uuid.uuid4().hex[:8]
    todo = [(url, part) for url, part in zip(outputs, plan) if not _exists(url)]
    tasks = [dask.delayed(_write_shard, pure=False)(url, part, fn, graph, batch_size, compression,
                                                     dask_key_name=f"write-{posixpath.basename(url)}-{run}")
             for url, part in todo]
    if tasks:
        _compute(tasks, client, scheduler, progress)
    return outputs


def _exists(url: str) -> bool:
    fs, path = url_to_fs(url)
    return fs.exists(path)


def _compute(tasks: list, client, scheduler: str, progress: bool) -> list:
    if client is not None:
        import distributed

        if isinstance(client, str):
            with distributed.Client(client) as c:
                return _compute(tasks, c, scheduler, progress)
        futures = client.compute(tasks)
        if progress:
            distributed.progress(futures)
        return client.gather(futures)
    if progress:
        from dask.diagnostics import ProgressBar

        with ProgressBar():
            return dask.compute(*tasks, scheduler=scheduler)
    return dask.compute(*tasks, scheduler=scheduler)


def _digit_example(item) -> bytes:
    image, label = item
    return make_example({"image_raw": image.astype(np.uint8).tobytes(), "label": int(label)}).SerializeToString()


def write_digits_shards(out_dir_url: str, num_shards: int = 8, progress: bool = False, **kwargs) -> list[str]:
    """Write scikit-learn's digits (1797 8x8 images, pixel values 0-16, labels 0-9) as ``num_shards``
    TFRecord shards of Examples: ``image_raw`` (64 uint8 bytes), ``label`` (int64).

    Parameters
    ----------
    out_dir_url : str
        The output folder (path or fsspec URL).
    num_shards : int
        How many shards (``digits-00000-of-00008.tfrecord``...).
    progress : bool
        Show a progress bar.
    **kwargs
        Passed to :func:`preprocess` (``client``, ``scheduler``, ``compression``).

    Returns
    -------
    list of str
        The shard URLs, in order; each holds a contiguous run of the dataset's records, in order.
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:  # pragma: no cover - scikit-learn is in the test and examples extras
        raise ImportError("write_digits_shards needs scikit-learn: pip install scikit-learn") from e
    digits = load_digits()
    items = list(zip(digits.images, digits.target))
    return preprocess(items, out_dir_url, _digit_example, num_shards, prefix="digits", progress=progress,
                      **kwargs)


def _load(spec: str) -> Callable:
    module, _, name = spec.partition(":")
    if not name:
        raise SystemExit(f"--fn must be module:function, got {spec!r}")
    return getattr(importlib.import_module(module), name)


def main(argv: list | None = None) -> list[str]:
    """The command line: ``python -m pipelines.preprocess --input GLOB --output DIR --num-shards N --fn M:F``."""
    p = argparse.ArgumentParser(prog="python -m pipelines.preprocess", description=__doc__.split("\n")[0])
    p.add_argument("--input", required=True, action="append", help="TFRecord files: a glob or URL (repeatable)")
    p.add_argument("--output", required=True, help="the output folder (path or fsspec URL)")
    p.add_argument("--num-shards", type=int, default=16)
    p.add_argument("--fn", default=None, help="module:function mapping a record (or, with --graph, building ops)")
    p.add_argument("--graph", action="store_true", help="--fn builds a dataflow graph from a records placeholder")
    p.add_argument("--prefix", default="out")
    p.add_argument("--batch-size", type=int, default=256)
    p.add_argument("--input-compression", default=None)
    p.add_argument("--compression", default=None)
    p.add_argument("--client", default=None, help="a dask.distributed scheduler address")
    p.add_argument("--scheduler", default="threads")
    p.add_argument("--no-progress", action="store_true")
    args = p.parse_args(argv)
    urls = preprocess(args.input, args.output, _load(args.fn) if args.fn else None, args.num_shards,
                      prefix=args.prefix, graph=args.graph, batch_size=args.batch_size,
                      input_compression=args.input_compression, compression=args.compression,
                      client=args.client, scheduler=args.scheduler, progress=not args.no_progress)
    print("\n".join(urls))
    return urls


if __name__ == "__main__":
    main()
