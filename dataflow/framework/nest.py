"""Nested structures of values (``tf.nest``): lists, tuples, namedtuples and dicts around leaves.

``flatten`` lists the leaves depth first (a dict's values in sorted key order, as TensorFlow does);
``pack_sequence_as`` puts a flat list back into a structure's shape. ``while_loop`` and ``cond``
use them for loop variables and branch results of any nesting.
"""

from __future__ import annotations

from collections.abc import Mapping


def is_sequence(x) -> bool:
    return isinstance(x, (list, tuple, Mapping))


def _children(x) -> list:
    if isinstance(x, Mapping):
        return [x[k] for k in sorted(x)]
    return list(x)


def flatten(structure) -> list:
    """The leaves of ``structure``, depth first. A leaf alone is ``[leaf]``.

    Examples
    --------
    >>> flatten({"b": 2, "a": (1, [3])})
    [1, 3, 2]
    """
    if not is_sequence(structure):
        return [structure]
    out = []
    for child in _children(structure):
        out.extend(flatten(child))
    return out


def _rebuild(structure, children: list):
    if isinstance(structure, Mapping):
        items = dict(zip(sorted(structure), children))
        try:
            return type(structure)((k, items[k]) for k in structure)
        except TypeError:
            return {k: items[k] for k in structure}
    if isinstance(structure, tuple) and hasattr(structure, "_fields"):  # namedtuple
        return type(structure)(*children)
    return type(structure)(children)


def pack_sequence_as(structure, flat_sequence):
    """``flat_sequence`` in the shape of ``structure`` (the inverse of :func:`flatten`)."""
    flat = list(flat_sequence)
    n = len(flatten(structure))
    if n != len(flat):
        raise ValueError(f"Could not pack sequence. Structure had {n} elements, but flat_sequence had "
                         f"{len(flat)} elements.")
    it = iter(flat)

    def build(s):
        if not is_sequence(s):
            return next(it)
        return _rebuild(s, [build(c) for c in _children(s)])

    return build(structure)


def assert_same_structure(a, b, check_types: bool = True) -> None:
    """ValueError (TypeError for differing sequence types) unless ``a`` and ``b`` nest alike."""
    if is_sequence(a) != is_sequence(b):
        raise ValueError(f"The two structures don't have the same nested structure.\n\nFirst structure: {a}"
                         f"\n\nSecond structure: {b}")
    if not is_sequence(a):
        return
    if check_types and type(a) is not type(b) and not (isinstance(a, list) and isinstance(b, list)):
        raise TypeError(f"The two structures don't have the same sequence type. First structure has type "
                        f"{type(a)}, while second structure has type {type(b)}.")
    if isinstance(a, Mapping) and sorted(a) != sorted(b):
        raise ValueError(f"The two dictionaries don't have the same set of keys: {sorted(a)} and {sorted(b)}")
    ca, cb = _children(a), _children(b)
    if len(ca) != len(cb):
        raise ValueError(f"The two structures don't have the same number of elements.\n\nFirst structure: "
                         f"{a}\n\nSecond structure: {b}")
    for x, y in zip(ca, cb):
        assert_same_structure(x, y, check_types)


def map_structure(fn, *structures):
    """``fn`` applied to the leaves of ``structures`` (which must nest alike), in their shape."""
    for s in structures[1:]:
        assert_same_structure(structures[0], s)
    flats = [flatten(s) for s in structures]
    return pack_sequence_as(structures[0], [fn(*xs) for xs in zip(*flats)])
