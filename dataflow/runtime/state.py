"""Session state: variable slots and per-op random generators.

A :class:`Slot` holds one variable's current value. Stateful kernels receive the slot (bound when a
run is planned) and read or replace its value; values are never mutated in place, so an array handed
out by a run stays as it was. Random ops each own a generator, seeded from the graph- and op-level
seeds, so a new session replays the same sequence as TF1 users expect.
"""

from __future__ import annotations

import threading

import numpy as np

from ..framework import errors


class Slot:
    """The storage of one variable in one session."""

    __slots__ = ("op", "value")

    def __init__(self, op):
        self.op = op
        self.value = None

    @property
    def name(self) -> str:
        return self.op.name

    def read(self):
        value = self.value
        if value is None:
            raise errors.FailedPreconditionError(
                None, self.op, f"Attempting to use uninitialized value {self.op.name}"
                + errors.describe_op(self.op).replace("[[node", "[[variable"))
        return value

    def assign(self, value, validate_shape: bool = True):
        if validate_shape and self.value is not None and np.shape(value) != np.shape(self.value):
            raise errors.InvalidArgumentError(
                None, self.op, f"Assign requires shapes of both tensors to match. lhs shape= "
                f"{list(np.shape(self.value))} rhs shape= {list(np.shape(value))} (variable {self.op.name})")
        self.value = value
        return value

    def is_initialized(self) -> bool:
        return self.value is not None

    def __repr__(self):
        return f"<Slot {self.op.name} {'set' if self.value is not None else 'uninitialized'}>"


class SessionState:
    """Everything a session keeps between runs: variable slots, random generators, and resources
    (queues, readers, iterators: objects made once per op by ``resource(op, factory)``, shared by
    concurrent runs; ``clear`` calls their ``cancel()`` so no thread stays blocked in one)."""

    def __init__(self):
        self.slots: dict[str, Slot] = {}
        self.rngs: dict[str, np.random.Generator] = {}
        self.resources: dict[str, tuple] = {}
        self.op_timeout: float | None = None  # seconds a blocked queue op waits (operation_timeout_in_ms)
        self.config = None  # the session's ConfigProto: placement of loop and cond bodies (soft placement)
        self._lock = threading.Lock()

    def resource(self, op, factory):
        """The resource of ``op`` in this session, made by ``factory()`` the first time."""
        with self._lock:
            entry = self.resources.get(op.name)
            if entry is None or entry[0] is not op:
                entry = self.resources[op.name] = (op, factory())
            return entry[1]

    def slot(self, op) -> Slot:
        s = self.slots.get(op.name)
        if s is None or s.op is not op:
            s = self.slots[op.name] = Slot(op)
        return s

    def rng(self, op) -> np.random.Generator:
        g = self.rngs.get(op.name)
        if g is None:
            seed, seed2 = op.attrs.get("seed"), op.attrs.get("seed2")
            g = np.random.default_rng(None if seed is None else [seed, seed2 or 0])
            self.rngs[op.name] = g
        return g

    def clear(self):
        with self._lock:
            resources, self.resources = list(self.resources.values()), {}
        for _, r in resources:
            if hasattr(r, "cancel"):
                r.cancel()
        # NOTE: generated segment code holds the slots it binds (in a function <-> globals cycle that only
        # the cycle collector frees): emptying each slot releases the variables' arrays at once
        for slot in self.slots.values():
            slot.value = None
        self.slots.clear()
        self.rngs.clear()
