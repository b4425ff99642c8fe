"""Element structures and graph functions: what ``tf.data`` transformations are built from.

**Structures.** A dataset element is a nest of tuples, namedtuples and dicts whose leaves are values
(NumPy arrays, or ``bytes`` for string scalars). Internally elements travel *flat* (a tuple of leaves);
:class:`Structure` knows the nest, each leaf's dtype and static shape, and packs flat tuples back.

**Graph functions.** ``map``, ``filter``, ``flat_map`` and ``interleave`` take a Python function over
tensors. As in TF it is called once, on placeholders standing for one element, inside a private graph
(:class:`GraphFunction`); the ops it creates are then run, per element or per batch, through a session
on that graph, i.e. through a plan made once by the ordinary planning machinery (prune, segment,
generated straight-line code) and reused for every call. A function may return a Dataset (flat_map,
interleave): its captured tensors are computed from the element and the dataset is instantiated from
them. Tensors of the caller's graph that the function uses are captured by value when the function is
built (constants and other tensors computable without feeds).
"""

from __future__ import annotations

import threading

import numpy as np

from dataflow.framework import dtypes
from dataflow.framework.tensor_shape import TensorShape, as_shape


class Structure:
    """A nest (tuple, namedtuple, dict or a single leaf) with one (dtype, TensorShape) per leaf."""

    def __init__(self, nest, types, shapes, sparse=None):
        self.nest = nest          # the nest with None leaves ("leaf" markers), or None for one leaf
        self.types = list(types)  # DType per flat leaf
        self.shapes = [as_shape(s) for s in shapes]
        # a sparse leaf is a SparseTensor (its value a SparseTensorValue; its shape the dense shape)
        self.sparse = list(sparse) if sparse is not None else [False] * len(self.types)

    @classmethod
    def from_value(cls, value, leaf_spec):
        """The structure of ``value``, with ``leaf_spec(leaf) -> (dtype, shape)``."""
        flat = flatten(value)
        specs = [leaf_spec(v) for v in flat]
        return cls(skeleton(value), [s[0] for s in specs], [s[1] for s in specs])

    def pack(self, flat):
        return pack(self.nest, list(flat))

    def map_shapes(self, fn) -> "Structure":
        return Structure(self.nest, self.types, [fn(s) for s in self.shapes], self.sparse)

    def tensors(self, flat_tensors) -> list:
        """Graph leaves from component tensors: three per sparse leaf (indices, values, dense_shape)."""
        from dataflow.framework.sparse_tensor import SparseTensor

        it = iter(flat_tensors)
        return [SparseTensor(next(it), next(it), next(it)) if sp else next(it) for sp in self.sparse]

    def component_specs(self) -> list:
        """(dtype, shape) of each component tensor: three for a sparse leaf."""
        out = []
        for dt, shape, sp in zip(self.types, self.shapes, self.sparse):
            if sp:
                rank = shape.ndims
                out += [(dtypes.int64, TensorShape([None, rank])), (dt, TensorShape([None])),
                        (dtypes.int64, TensorShape([rank]))]
            else:
                out.append((dt, shape))
        return out

    @property
    def output_types(self):
        return self.pack(self.types)

    @property
    def output_shapes(self):
        return self.pack(self.shapes)

    def __len__(self):
        return len(self.types)


_LEAF = object()


def _is_nest(x) -> bool:
    return isinstance(x, (tuple, dict))


def flatten(value) -> list:
    """The leaves of a nest, in order (dict leaves by sorted key, as TF's nest)."""
    if isinstance(value, dict):
        return [leaf for k in sorted(value) for leaf in flatten(value[k])]
    if isinstance(value, tuple):
        return [leaf for v in value for leaf in flatten(v)]
    return [value]


def skeleton(value):
    """The nest of ``value`` with every leaf replaced by a marker."""
    if isinstance(value, dict):
        return {k: skeleton(value[k]) for k in sorted(value)}
    if isinstance(value, tuple):
        items = [skeleton(v) for v in value]
        return type(value)(*items) if hasattr(value, "_fields") else tuple(items)
    return _LEAF


def pack(nest, flat: list):
    """Fill ``nest`` (a skeleton) with the leaves ``flat``, consumed in order."""
    it = iter(flat)

    def fill(n):
        if n is _LEAF:
            return next(it)
        if isinstance(n, dict):
            return {k: fill(n[k]) for k in n}
        items = [fill(v) for v in n]
        return type(n)(*items) if hasattr(n, "_fields") else tuple(items)

    return fill(nest)


def value_spec(v):
    """(dtype, shape) of a NumPy value or bytes."""
    if isinstance(v, (bytes, str)):
        return dtypes.string, TensorShape([])
    a = np.asarray(v)
    if a.dtype.kind in "OSU":
        return dtypes.string, TensorShape(a.shape)
    return dtypes.as_dtype(a.dtype), TensorShape(a.shape)


def as_feed(v):
    """A leaf value as the ndarray a feed wants (bytes as a 0-d object array)."""
    if type(v) is np.ndarray:
        return v
    if isinstance(v, (bytes, str)):
        a = np.empty((), object)
        a[()] = v.encode() if isinstance(v, str) else v
        return a
    return np.asarray(v)


class GraphFunction:
    """A Python function over tensors, traced once into a private graph, run through a session.

    Parameters
    ----------
    fn : callable
        Called with the element's components: positionally for a tuple element, else one argument.
    structure : Structure
        The element structure the function takes.
    name : str
        For error messages (the transformation's name).
    """

    def __init__(self, fn, structure: Structure, name: str = "map"):
        import dataflow as tf

        self.name = name
        self.in_structure = structure
        self.graph = tf.Graph()
        outer = tf.get_default_graph()
        self._captures: dict = {}
        with self.graph.as_default():
            self.placeholders = [tf.placeholder(dt, shape, name=f"arg{i}")
                                 for i, (dt, shape) in enumerate(structure.component_specs())]
            args = structure.pack(structure.tensors(self.placeholders))
            self.graph._capture_from = (outer, self._capture)
            try:
                out = fn(*args) if isinstance(args, tuple) and not hasattr(args, "_fields") else fn(args)
            finally:
                self.graph._capture_from = None
            self.returns_dataset = _is_dataset(out)
            if self.returns_dataset:
                self.dataset = out
                self.outputs = list(out._captured())
                self.out_structure = out.structure
            else:
                if isinstance(out, list):
                    out = tuple(out)
                flat = [v if _is_sparse(v) else tf.convert_to_tensor(v) for v in flatten(out)]
                self.outputs = [c for v in flat for c in ([v.indices, v.values, v.dense_shape] if _is_sparse(v)
                                                          else [v])]
                self.out_structure = Structure(skeleton(out), [t.dtype for t in flat], [_shape(t) for t in flat],
                                               [_is_sparse(v) for v in flat])
        self._session = None
        self._lock = threading.Lock()

    def _capture(self, tensor):
        """A tensor of the caller's graph used by the function: its value, as a constant here."""
        import dataflow as tf

        const = self._captures.get(tensor)
        if const is None:
            try:
                with tf.Session(graph=tensor.graph) as s:
                    value = s.run(tensor)
            except tf.errors.OpError as e:
                raise ValueError(f"The {self.name}() function uses {tensor.name} of the caller's graph, whose value "
                                 f"cannot be computed when the function is built (it is captured by value): "
                                 f"{e.message.splitlines()[0]}") from None
            with self.graph.as_default():
                const = self._captures[tensor] = tf.constant(value, dtype=tensor.dtype)
        return const

    @property
    def session(self):
        if self._session is None:
            import dataflow as tf

            with self._lock:
                if self._session is None:
                    self._session = tf.Session(graph=self.graph)
        return self._session

    def run_flat(self, flat) -> list:
        """The function's output components for one element (or batch) given as flat leaves."""
        if not self.outputs:
            return []
        if any(self.in_structure.sparse):
            flat = [c for v, sp in zip(flat, self.in_structure.sparse) for c in (v if sp else [v])]
        return self.session.run(self.outputs, dict(zip(self.placeholders, map(as_feed, flat))))

    def __call__(self, flat):
        """Flat outputs as a tuple, or the returned dataset's iterator for dataset-valued functions."""
        values = self.run_flat(flat)
        if self.returns_dataset:
            return self.dataset._iterate(dict(zip(self.outputs, values)))
        if any(self.out_structure.sparse):
            return tuple(group_sparse(values, self.out_structure.sparse))
        return tuple(values)

    def close(self):
        if self._session is not None:
            self._session.close()


def group_sparse(components, sparse) -> list:
    """Leaves from components: each sparse leaf's three arrays become one SparseTensorValue."""
    from dataflow.framework.sparse_tensor import SparseTensorValue

    it = iter(components)
    return [SparseTensorValue(next(it), next(it), next(it)) if sp else next(it) for sp in sparse]


def _shape(t) -> TensorShape:
    """A tensor's static shape; a SparseTensor's dense shape (its rank from ``dense_shape``'s length)."""
    if not _is_sparse(t):
        return t.shape
    from dataflow.ops.common import constant_value

    known = constant_value(t.dense_shape)
    if known is not None:
        return TensorShape([int(d) for d in known])
    dims = t.dense_shape.shape.as_list() if t.dense_shape.shape.ndims else [None]
    return TensorShape(None if dims[0] is None else [None] * dims[0])


def _is_sparse(x) -> bool:
    from dataflow.framework.sparse_tensor import SparseTensor

    return isinstance(x, SparseTensor)


def _is_dataset(x) -> bool:
    return hasattr(x, "_iterate") and hasattr(x, "structure")
