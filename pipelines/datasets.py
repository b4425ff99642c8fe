"""``tf.data``: datasets as Python iterators over NumPy elements, inside the session's runtime.

A :class:`Dataset` is a description: its element :class:`~pipelines.functions.Structure`, the graph
tensors it *captures* (``from_tensor_slices(x)``'s ``x``, a file-name tensor...), and
``_iterate(values)``, which, given the captured tensors' values, yields elements as flat tuples of
leaves. An iterator's initializer op (``MakeIterator``, ``dataflow/ops/iterator_ops.py``) takes the
captured tensors as inputs, so placeholders in a dataset are fed when the initializer runs, as in TF;
``get_next`` (``IteratorGetNext``) then pulls one element per run.

Speed comes from batches: ``batch`` stacks leaves with NumPy, and a ``map`` after it runs its graph
function once per batch (``parse_example`` on 128 records is one run). ``map`` functions run through a
planned session (:class:`~pipelines.functions.GraphFunction`), on a thread pool with
``num_parallel_calls``; ``prefetch`` fills a bounded buffer from a background thread; readers
(``TFRecordDataset``, ``TextLineDataset``, ``FixedLengthRecordDataset``: ``pipelines/readers.py``)
read in large blocks. ``shuffle`` draws from a buffer with a seeded NumPy generator, reseeded per
iteration unless ``reshuffle_each_iteration=False``.
"""

from __future__ import annotations

import collections
import concurrent.futures
import itertools
import os
import pickle
import queue as queue_mod
import threading

import numpy as np

from dataflow.framework import dtypes, errors
from dataflow.framework.tensor_shape import TensorShape

from .functions import GraphFunction, Structure, flatten, skeleton
from .queues import pad_stack, stack

AUTOTUNE = -1


def _tensor(value, dtype=None):
    import dataflow as tf

    return tf.convert_to_tensor(value, dtype=dtype)


def _int(values, t) -> int:
    return int(values[t]) if not isinstance(t, int) else t


def _scalar_input(value, dtype=dtypes.int64):
    """A Python int stays an int (no graph op); a tensor is captured."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return int(value)
    return _tensor(value, dtype)


class Dataset:
    """``tf.data.Dataset``: a source of elements, transformed by chaining methods.

    Examples
    --------
    >>> import dataflow as tf
    >>> ds = tf.data.Dataset.range(10).map(lambda x: x * 2).batch(4)
    >>> nxt = ds.make_one_shot_iterator().get_next()
    >>> with tf.Session() as sess:
    ...     print(sess.run(nxt))
    [0 2 4 6]
    """

    structure: Structure
    _inputs: tuple = ()     # Datasets this one reads
    _tensors: tuple = ()    # graph tensors this one captures

    # ---- what subclasses provide ---------------------------------------------------------------
    def _iterate(self, values: dict):
        """Yield flat element tuples; ``values`` maps every captured tensor to its value."""
        raise NotImplementedError

    def _captured(self) -> list:
        """Every graph tensor this dataset and its inputs capture, each once."""
        out = [t for t in self._tensors if not isinstance(t, int)]
        for d in self._inputs:
            out.extend(d._captured())
        return list(dict.fromkeys(out))

    # ---- properties ----------------------------------------------------------------------------
    @property
    def output_types(self):
        return self.structure.output_types

    @property
    def output_shapes(self):
        return self.structure.output_shapes

    @property
    def output_classes(self):
        import dataflow as tf

        return self.structure.pack([tf.SparseTensor if sp else tf.Tensor for sp in self.structure.sparse])

    @property
    def element_spec(self):
        return self.structure.pack(list(zip(self.structure.types, self.structure.shapes)))

    # ---- sources -------------------------------------------------------------------------------
    @staticmethod
    def from_tensor_slices(tensors) -> "Dataset":
        """One element per slice of ``tensors`` (a tensor, tuple or dict) along axis 0."""
        return TensorSliceDataset(tensors)

    @staticmethod
    def from_tensors(tensors) -> "Dataset":
        """A dataset of one element: ``tensors``."""
        return TensorDataset(tensors)

    @staticmethod
    def range(*args, output_type=dtypes.int64) -> "Dataset":
        """``range(stop)``, ``range(start, stop[, step])`` as int64 scalars."""
        return RangeDataset(*args, output_type=output_type)

    @staticmethod
    def from_generator(generator, output_types, output_shapes=None, args=None) -> "Dataset":
        """Elements from ``generator(*args)``, converted to ``output_types`` (checked against
        ``output_shapes``)."""
        return GeneratorDataset(generator, output_types, output_shapes, args)

    @staticmethod
    def zip(datasets) -> "Dataset":
        """Elements of several datasets side by side (a nest of datasets); ends with the shortest."""
        return ZipDataset(datasets)

    @staticmethod
    def list_files(file_pattern, shuffle=None, seed=None) -> "Dataset":
        """The file names matching ``file_pattern`` (str or list), shuffled unless ``shuffle=False``."""
        from .readers import list_files

        return list_files(file_pattern, shuffle, seed)

    # ---- transformations -----------------------------------------------------------------------
    def map(self, map_func, num_parallel_calls=None) -> "Dataset":
        """``map_func`` (traced once on placeholders) on each element; ``num_parallel_calls`` threads,
        order kept. After ``batch`` it runs once per batch."""
        return MapDataset(self, map_func, num_parallel_calls)

    def filter(self, predicate) -> "Dataset":
        """The elements for which ``predicate`` (a scalar bool graph function) is true."""
        return FilterDataset(self, predicate)

    def flat_map(self, map_func) -> "Dataset":
        """The elements of the datasets ``map_func`` returns, one dataset after another."""
        return InterleaveDataset(self, map_func, 1, 1, None, "flat_map")

    def interleave(self, map_func, cycle_length=AUTOTUNE, block_length=1, num_parallel_calls=None) -> "Dataset":
        """Elements of ``cycle_length`` datasets made by ``map_func``, ``block_length`` at a time from each
        (TF's order); ``num_parallel_calls`` reads each open dataset ahead on a thread."""
        return InterleaveDataset(self, map_func, cycle_length, block_length, num_parallel_calls)

    def shuffle(self, buffer_size, seed=None, reshuffle_each_iteration=True) -> "Dataset":
        """Elements drawn at random from a buffer of ``buffer_size``; a seed replays per iterator."""
        return ShuffleDataset(self, buffer_size, seed, reshuffle_each_iteration)

    def repeat(self, count=None) -> "Dataset":
        """The elements ``count`` times (forever if None or -1)."""
        return RepeatDataset(self, count)

    def batch(self, batch_size, drop_remainder=False) -> "Dataset":
        """Elements stacked by ``batch_size`` along a new axis 0 (the last batch may be smaller)."""
        return BatchDataset(self, batch_size, drop_remainder)

    def padded_batch(self, batch_size, padded_shapes=None, padding_values=None, drop_remainder=False) -> "Dataset":
        """Batches with each component padded (``padding_values``, default 0 / b"") to ``padded_shapes``
        (None dims: the batch's longest)."""
        return BatchDataset(self, batch_size, drop_remainder, padded=True, padded_shapes=padded_shapes,
                            padding_values=padding_values)

    def prefetch(self, buffer_size=AUTOTUNE) -> "Dataset":
        """The same elements, produced ahead by a background thread into a buffer of ``buffer_size``."""
        return PrefetchDataset(self, buffer_size)

    def take(self, count) -> "Dataset":
        """At most ``count`` elements (all if -1)."""
        return TakeDataset(self, count)

    def skip(self, count) -> "Dataset":
        """All but the first ``count`` elements (none if -1)."""
        return SkipDataset(self, count)

    def cache(self, filename="") -> "Dataset":
        """The first complete pass kept in memory, or in ``filename``, and replayed after."""
        return CacheDataset(self, filename)

    def shard(self, num_shards, index) -> "Dataset":
        """Every ``num_shards``-th element, starting at ``index``."""
        return ShardDataset(self, num_shards, index)

    def concatenate(self, dataset) -> "Dataset":
        """This dataset's elements, then ``dataset``'s (same types)."""
        return ConcatenateDataset(self, dataset)

    def apply(self, transformation_func) -> "Dataset":
        """``transformation_func(self)``."""
        return transformation_func(self)

    # ---- iterators -----------------------------------------------------------------------------
    def make_one_shot_iterator(self):
        """An iterator initialized on its first ``get_next`` (the dataset may capture only tensors
        computable without feeds)."""
        from dataflow.ops.iterator_ops import Iterator

        return Iterator._one_shot(self)

    def make_initializable_iterator(self, shared_name=None):
        """An iterator with an ``initializer`` op (run it again to restart; feed the dataset's
        placeholders there)."""
        from dataflow.ops.iterator_ops import Iterator

        it = Iterator.from_structure(self.output_types, self.output_shapes, _structure=self.structure)
        it._initializer = it.make_initializer(self)
        return it

    def __iter__(self):
        """Plain Python iteration over the elements (captured tensors computed in a new session)."""
        yield from (self.structure.pack(e) for e in self._iterate(_evaluate(self._captured())))

    def __repr__(self):
        return f"<{type(self).__name__} types: {self.output_types}, shapes: {self.output_shapes}>"


def epoch_counter(values: dict, dataset):
    """Counts the passes of ``dataset`` within one iterator (``values`` is made once per iterator
    initialization), so a seeded reshuffle differs per epoch but replays in a new iterator."""
    return values.setdefault(("epoch", id(dataset)), itertools.count())


def _evaluate(tensors) -> dict:
    if not tensors:
        return {}
    import dataflow as tf

    with tf.Session(graph=tensors[0].graph) as sess:
        return dict(zip(tensors, sess.run(list(tensors))))


# ---- sources ------------------------------------------------------------------------------------
class TensorSliceDataset(Dataset):
    def __init__(self, tensors):
        flat = [_tensor(t) for t in flatten(tensors)]
        if not flat:
            raise ValueError("from_tensor_slices needs at least one tensor")
        for t in flat:
            if t.shape.ndims == 0:
                raise ValueError(f"Unbatched tensors can not be sliced: {t} has rank 0")
        self._tensors = tuple(flat)
        self.structure = Structure(skeleton(tensors), [t.dtype for t in flat], [t.shape[1:] for t in flat])

    def _iterate(self, values):
        arrays = [values[t] for t in self._tensors]
        n = len(arrays[0])
        if any(len(a) != n for a in arrays):
            raise errors.InvalidArgumentError(None, None, "Dimension 0 in both shapes must be equal: "
                                              f"{[a.shape for a in arrays]}")
        for i in range(n):
            yield tuple(a[i] for a in arrays)


class TensorDataset(Dataset):
    def __init__(self, tensors):
        flat = [_tensor(t) for t in flatten(tensors)]
        self._tensors = tuple(flat)
        self.structure = Structure(skeleton(tensors), [t.dtype for t in flat], [t.shape for t in flat])

    def _iterate(self, values):
        yield tuple(values[t] for t in self._tensors)


class RangeDataset(Dataset):
    def __init__(self, *args, output_type=dtypes.int64):
        if not 1 <= len(args) <= 3:
            raise ValueError("range takes (stop), (start, stop) or (start, stop, step)")
        start, stop, step = (0, args[0], 1) if len(args) == 1 else (args + (1,))[:3]
        self._tensors = tuple(_scalar_input(v) for v in (start, stop, step))
        self._dtype = np.dtype(dtypes.as_dtype(output_type).as_numpy_dtype)
        self.structure = Structure(skeleton(0), [dtypes.as_dtype(output_type)], [TensorShape([])])

    def _iterate(self, values):
        start, stop, step = (_int(values, t) for t in self._tensors)
        if step == 0:
            raise errors.InvalidArgumentError(None, None, "step must be a non-zero integer.")
        t = self._dtype.type
        for i in range(start, stop, step):
            yield (t(i),)


class GeneratorDataset(Dataset):
    def __init__(self, generator, output_types, output_shapes=None, args=None):
        types = [dtypes.as_dtype(t) for t in flatten(output_types)]
        shapes = flatten(output_shapes) if output_shapes is not None else [None] * len(types)
        if len(shapes) != len(types):
            raise TypeError("output_shapes must have the structure of output_types")
        self.structure = Structure(skeleton(output_types), types, [TensorShape(s) for s in shapes])
        self._generator = generator
        self._tensors = tuple(_tensor(a) for a in (args or ()))

    def _iterate(self, values):
        args = [values[t] for t in self._tensors]
        nptypes = [t.as_numpy_dtype for t in self.structure.types]
        for item in self._generator(*args):
            flat = flatten(item)
            if len(flat) != len(nptypes):
                raise errors.InvalidArgumentError(
                    None, None, f"`generator` yielded an element that did not match the expected structure: "
                    f"{len(flat)} values for {len(nptypes)} components")
            out = []
            for v, npd, shape in zip(flat, nptypes, self.structure.shapes):
                try:
                    a = np.asarray(v, dtype=npd) if npd is not object else np.asarray(v, dtype=object)
                except (TypeError, ValueError) as e:
                    raise errors.InvalidArgumentError(
                        None, None, f"TypeError: `generator` yielded an element that could not be converted "
                        f"to the expected type: {e}") from None
                if not shape.is_compatible_with(TensorShape(a.shape)):
                    raise errors.InvalidArgumentError(
                        None, None, f"`generator` yielded an element of shape {list(a.shape)} where an "
                        f"element of shape {shape} was expected.")
                out.append(a)
            yield tuple(out)


class ZipDataset(Dataset):
    def __init__(self, datasets):
        self._inputs = tuple(flatten(datasets))
        nest = skeleton(datasets)
        sub = [d.structure for d in self._inputs]
        from .functions import pack

        self.structure = Structure(pack(nest, [s.nest for s in sub]), [t for s in sub for t in s.types],
                                   [sh for s in sub for sh in s.shapes], [sp for s in sub for sp in s.sparse])

    def _iterate(self, values):
        for parts in zip(*[d._iterate(values) for d in self._inputs]):
            yield tuple(v for p in parts for v in p)


class ConcatenateDataset(Dataset):
    def __init__(self, a, b):
        if a.structure.types != b.structure.types:
            raise TypeError(f"Two datasets to concatenate have different types {a.output_types} and "
                            f"{b.output_types}")
        self._inputs = (a, b)
        if a.structure.sparse != b.structure.sparse:
            raise TypeError("Two datasets to concatenate have different classes (dense and sparse leaves)")
        self.structure = Structure(a.structure.nest, a.structure.types,
                                   [x.most_specific_compatible_shape(y) if hasattr(x, "most_specific_compatible_shape")
                                    else (x if x == y else TensorShape(None))
                                    for x, y in zip(a.structure.shapes, b.structure.shapes)])

    def _iterate(self, values):
        yield from self._inputs[0]._iterate(values)
        yield from self._inputs[1]._iterate(values)


# ---- per-element functions ----------------------------------------------------------------------
def _ordered_parallel(fn, items, workers: int, stop: threading.Event | None = None):
    """``map(fn, items)`` on ``workers`` threads, in order, at most ``2*workers`` calls ahead."""
    if workers <= 1:
        yield from map(fn, items)
        return
    with concurrent.futures.ThreadPoolExecutor(workers) as pool:
        pending: collections.deque = collections.deque()
        try:
            for item in items:
                pending.append(pool.submit(fn, item))
                if len(pending) >= 2 * workers:
                    yield pending.popleft().result()
            while pending:
                yield pending.popleft().result()
        finally:
            for f in pending:
                f.cancel()


def _workers(n) -> int:
    if n is None:
        return 1
    n = int(n)
    return os.cpu_count() or 2 if n == AUTOTUNE else max(1, n)


class MapDataset(Dataset):
    def __init__(self, input_dataset, map_func, num_parallel_calls=None):
        self._inputs = (input_dataset,)
        self._fn = GraphFunction(map_func, input_dataset.structure, "map")
        if self._fn.returns_dataset:
            raise TypeError("map() functions must return tensors; use flat_map() for datasets")
        self.structure = self._fn.out_structure
        self._workers = _workers(num_parallel_calls)

    def _iterate(self, values):
        return _ordered_parallel(self._fn, self._inputs[0]._iterate(values), self._workers)


class FilterDataset(Dataset):
    def __init__(self, input_dataset, predicate):
        self._inputs = (input_dataset,)
        self._fn = GraphFunction(predicate, input_dataset.structure, "filter")
        if len(self._fn.outputs) != 1 or self._fn.outputs[0].dtype is not dtypes.bool_ or \
                self._fn.outputs[0].shape.ndims not in (0, None):
            raise ValueError("`predicate` must return a scalar boolean tensor.")
        self.structure = input_dataset.structure

    def _iterate(self, values):
        for element in self._inputs[0]._iterate(values):
            if self._fn.run_flat(element)[0]:
                yield element


class InterleaveDataset(Dataset):
    """``interleave`` (and ``flat_map``: cycle 1, block 1): ``cycle_length`` datasets made by
    ``map_func`` are open at once; ``block_length`` elements are taken from each in turn. With
    ``num_parallel_calls`` each open dataset is read ahead by a thread (order kept)."""

    def __init__(self, input_dataset, map_func, cycle_length, block_length, num_parallel_calls, name="interleave"):
        self._inputs = (input_dataset,)
        self._fn = GraphFunction(map_func, input_dataset.structure, name)
        if not self._fn.returns_dataset:
            raise TypeError(f"`map_func` of {name}() must return a Dataset")
        self.structure = self._fn.out_structure
        self._cycle = _workers(cycle_length) if cycle_length == AUTOTUNE else int(cycle_length)
        self._block = int(block_length)
        self._parallel = num_parallel_calls is not None

    def _iterate(self, values):
        sources = (self._fn(e) for e in self._inputs[0]._iterate(values))
        if self._parallel:
            sources = (_read_ahead(s, 2 * self._block) for s in sources)
        return _interleave(sources, self._cycle, self._block)


def _interleave(sources, cycle: int, block: int):
    """TF's interleave order: ``block`` elements from each of ``cycle`` slots in turn; an exhausted
    slot takes the next source, and the turn moves on to the next slot."""
    slots = [next(sources, None) for _ in range(cycle)]
    while any(s is not None for s in slots):
        for i, it in enumerate(slots):
            if it is None:
                continue
            n = 0
            for x in it:
                yield x
                n += 1
                if n == block:
                    break
            else:
                slots[i] = next(sources, None)


def _read_ahead(it, size: int):
    """``it`` read by a background thread into a buffer of ``size`` elements (errors re-raised)."""
    buf: queue_mod.Queue = queue_mod.Queue(max(1, size))
    stop = threading.Event()
    done = object()

    def fill():
        try:
            for x in it:
                while not stop.is_set():
                    try:
                        buf.put((x, None), timeout=0.1)
                        break
                    except queue_mod.Full:
                        continue
                if stop.is_set():
                    return
            buf.put((done, None))
        except BaseException as e:  # noqa: BLE001 (handed to the consumer)
            buf.put((done, e))

    thread = threading.Thread(target=fill, daemon=True, name="tf.data-prefetch")
    thread.start()
    try:
        while True:
            x, err = buf.get()
            if x is done:
                if err is not None:
                    raise err
                return
            yield x
    finally:
        stop.set()


# ---- reordering, batching, control ----------------------------------------------------------------
class ShuffleDataset(Dataset):
    def __init__(self, input_dataset, buffer_size, seed=None, reshuffle_each_iteration=True):
        from dataflow.ops.random import get_seed

        self._inputs = (input_dataset,)
        self.structure = input_dataset.structure
        self._tensors = (_scalar_input(buffer_size),)
        s1, s2 = get_seed(seed)
        self._seed = None if s1 is None else [s1, s2 or 0]
        self._reshuffle = reshuffle_each_iteration

    def _iterate(self, values):
        size = _int(values, self._tensors[0])
        if size <= 0:
            raise errors.InvalidArgumentError(None, None, "buffer_size must be greater than zero.")
        seed = self._seed
        if seed is not None and self._reshuffle:
            seed = seed + [next(epoch_counter(values, self))]
        rng = np.random.default_rng(seed)
        buf: list = []
        for e in self._inputs[0]._iterate(values):
            if len(buf) < size:
                buf.append(e)
                continue
            i = int(rng.integers(size))
            out, buf[i] = buf[i], e
            yield out
        rng.shuffle(buf)
        yield from buf


class RepeatDataset(Dataset):
    def __init__(self, input_dataset, count=None):
        self._inputs = (input_dataset,)
        self.structure = input_dataset.structure
        self._tensors = (_scalar_input(-1 if count is None else count),)

    def _iterate(self, values):
        count = _int(values, self._tensors[0])
        n = 0
        while count < 0 or n < count:
            empty = True
            for e in self._inputs[0]._iterate(values):
                empty = False
                yield e
            n += 1
            if empty:
                return


class _CountDataset(Dataset):
    """A dataset of its input's elements and one count (take, skip)."""

    def __init__(self, input_dataset, count):
        self._inputs = (input_dataset,)
        self.structure = input_dataset.structure
        self._tensors = (_scalar_input(count),)


class TakeDataset(_CountDataset):
    def _iterate(self, values):
        count = _int(values, self._tensors[0])
        it = self._inputs[0]._iterate(values)
        return it if count < 0 else itertools.islice(it, count)


class SkipDataset(_CountDataset):
    def _iterate(self, values):
        count = _int(values, self._tensors[0])
        it = self._inputs[0]._iterate(values)
        if count < 0:
            return iter(())
        return itertools.islice(it, count, None)


class ShardDataset(Dataset):
    def __init__(self, input_dataset, num_shards, index):
        self._inputs = (input_dataset,)
        self.structure = input_dataset.structure
        self._tensors = (_scalar_input(num_shards), _scalar_input(index))
        if isinstance(num_shards, int) and isinstance(index, int) and not 0 <= index < num_shards:
            raise errors.InvalidArgumentError(None, None, f"Index {index} must be in [0, {num_shards})")

    def _iterate(self, values):
        num, index = (_int(values, t) for t in self._tensors)
        if num <= 0 or not 0 <= index < num:
            raise errors.InvalidArgumentError(None, None, f"Shard index {index} must be in [0, {num}), num_shards "
                                              "must be > 0")
        return itertools.islice(self._inputs[0]._iterate(values), index, None, num)


class BatchDataset(Dataset):
    def __init__(self, input_dataset, batch_size, drop_remainder=False, padded=False, padded_shapes=None,
                 padding_values=None):
        self._inputs = (input_dataset,)
        self._tensors = (_scalar_input(batch_size),)
        self._drop = bool(drop_remainder)
        self._padded = padded
        st = input_dataset.structure
        self._np = [t.as_numpy_dtype for t in st.types]
        lead = TensorShape([batch_size if self._drop and isinstance(batch_size, int) else None])
        if padded and any(st.sparse):
            raise TypeError("padded_batch does not take SparseTensor elements; use batch")
        if padded:
            shapes = [TensorShape(s) for s in flatten(padded_shapes)] if padded_shapes is not None else \
                [TensorShape([None] * s.ndims) if s.ndims is not None else s for s in st.shapes]
            if len(shapes) != len(st):
                raise ValueError("padded_shapes must have the structure of the dataset's elements")
            self._pad_to = [s.as_list() if s.ndims is not None else None for s in shapes]
            pv = flatten(padding_values) if padding_values is not None else [None] * len(st)
            self._pad_values = [None if v is None else _tensor(v, dt) for v, dt in zip(pv, st.types)]
            self._tensors += tuple(v for v in self._pad_values if v is not None)
            self.structure = Structure(st.nest, st.types, [lead.concatenate(s) for s in shapes])
        else:
            self.structure = st.map_shapes(lead.concatenate)

    def _iterate(self, values):
        size = _int(values, self._tensors[0])
        if size <= 0:
            raise errors.InvalidArgumentError(None, None, "Batch size must be greater than zero.")
        it = self._inputs[0]._iterate(values)
        while True:
            items = list(itertools.islice(it, size))
            if not items or (self._drop and len(items) < size):
                return
            yield self._stack(items, values)

    def _stack(self, items, values):
        out = []
        sparse = self.structure.sparse
        for i, npd in enumerate(self._np):
            parts = [e[i] for e in items]
            if sparse[i]:
                out.append(_batch_sparse(parts))
                continue
            if self._padded:
                parts = [np.asarray(p, dtype=npd) for p in parts]
                pad = self._pad_values[i]
                out.append(pad_stack(parts, npd, self._pad_to[i], None if pad is None else values[pad]))
                continue
            try:
                if npd is object:
                    out.append(np.array(parts, dtype=object) if type(parts[0]) is bytes else stack(parts, npd))
                else:
                    out.append(np.asarray(parts, dtype=npd))
            except ValueError:
                raise errors.InvalidArgumentError(
                    None, None, f"Cannot batch tensors with different shapes in component {i}. First element "
                    f"had shape {list(np.shape(parts[0]))}") from None
        return tuple(out)


def _batch_sparse(parts):
    """SparseTensorValues stacked along a new first axis (the dense shape: the largest of each axis)."""
    from dataflow.framework.sparse_tensor import SparseTensorValue

    indices = [np.concatenate([np.full((len(p.indices), 1), k, np.int64), np.asarray(p.indices, np.int64)], 1)
               for k, p in enumerate(parts)]
    shape = np.max(np.stack([np.asarray(p.dense_shape, np.int64) for p in parts]), axis=0)
    return SparseTensorValue(np.concatenate(indices), np.concatenate([np.asarray(p.values) for p in parts]),
                             np.concatenate([[len(parts)], shape]).astype(np.int64))


class PrefetchDataset(Dataset):
    def __init__(self, input_dataset, buffer_size=AUTOTUNE):
        self._inputs = (input_dataset,)
        self.structure = input_dataset.structure
        self._size = 2 if buffer_size in (None, AUTOTUNE) else max(1, int(buffer_size))

    def _iterate(self, values):
        return _read_ahead(self._inputs[0]._iterate(values), self._size)


class CacheDataset(Dataset):
    """``cache()``: the first complete pass is kept in memory (``filename=""``) or written to
    ``filename`` (pickled flat elements, renamed into place when complete); later passes read it."""

    def __init__(self, input_dataset, filename=""):
        self._inputs = (input_dataset,)
        self.structure = input_dataset.structure
        self._filename = filename
        self._memory = None
        self._lock = threading.Lock()

    def _iterate(self, values):
        if self._memory is not None:
            yield from self._memory
            return
        path = self._filename and f"{self._filename}.df-cache"
        if path and os.path.exists(path):
            with open(path, "rb") as f:
                try:
                    while True:
                        yield pickle.load(f)
                except EOFError:
                    return
        seen = []
        for e in self._inputs[0]._iterate(values):
            seen.append(e)
            yield e
        if path:
            with open(path + ".tmp", "wb") as f:
                for e in seen:
                    pickle.dump(e, f, protocol=pickle.HIGHEST_PROTOCOL)
            os.replace(path + ".tmp", path)
        else:
            with self._lock:
                self._memory = seen
