"""The state behind TF1 queues: FIFO, random-shuffle and padding queues shared by threads.

A queue lives in one session (``SessionState.resource``) and holds *elements*: tuples of NumPy
arrays, one per component. The graph's queue ops (``dataflow/ops/data_flow_ops.py``) call its methods
from whatever thread runs them: QueueRunner threads enqueue while the training loop dequeues.

Algorithm and state
-------------------
One ``threading.Condition`` guards everything: the element store, ``closed``, ``cancelled``
(``close(cancel_pending_enqueues=True)``) and ``session_closed``. Every change notifies all waiters,
and each waiter re-checks its own predicate, so one condition serves enqueuers and dequeuers:

- enqueue of k elements: each waits while the queue is full; closed -> CancelledError
  ("... is closed."), a pending enqueue cancelled -> CancelledError ("Enqueue operation was
  cancelled"). A pending enqueue on a queue closed without cancel stays pending, as in TF.
- dequeue of n: waits until ``n`` elements can leave (a RandomShuffleQueue keeps
  ``min_after_dequeue`` behind until it is closed). Closed with too few -> OutOfRangeError with TF's
  message; ``dequeue_up_to`` then returns what is left, if anything.
- session close (``cancel``) wakes every waiter with CancelledError, so no thread hangs.

Batches are stacked along a new first axis; a PaddingFIFOQueue pads each component to the largest
shape in the batch (zeros, empty strings).
"""

from __future__ import annotations

import collections
import threading
import time

import numpy as np

from dataflow.framework import errors


class Queue:
    """A FIFO queue of element tuples (TF's ``FIFOQueue``).

    Parameters
    ----------
    name : str
        The op's name (TF names the queue after it in its messages).
    capacity : int
        Most elements held; enqueues block beyond it. A negative capacity is unbounded.
    dtypes : list of numpy dtype
        One dtype per component.
    shapes : list of tuple or None
        One static shape per component (None dims allowed only when padding), or None: any shape.
    """

    kind = "FIFOQueue"

    def __init__(self, name: str, capacity: int, dtypes, shapes=None, timeout: float | None = None):
        self.name = name
        self.timeout = timeout  # seconds a blocked op waits (ConfigProto.operation_timeout_in_ms), None: ever
        self.capacity = capacity if capacity is not None and capacity >= 0 else float("inf")
        self.dtypes = [np.dtype(d) for d in dtypes]
        self.shapes = [None if s is None else tuple(s) for s in shapes] if shapes else None
        self._cv = threading.Condition()
        self._items: collections.deque = collections.deque()
        self.closed = False
        self.cancelled = False
        self.session_closed = False

    # ---- element store (overridden by the shuffle queue) --------------------------------------
    def _put(self, item) -> None:
        self._items.append(item)

    def _take(self):
        return self._items.popleft()

    def _ready(self, n: int) -> bool:
        return len(self._items) >= n

    def size(self) -> int:
        with self._cv:
            return len(self._items)

    # ---- checks ---------------------------------------------------------------------------------
    def _check(self, components, many: bool):
        if len(components) != len(self.dtypes):
            raise errors.InvalidArgumentError(
                None, None, f"{self.kind} '{self.name}' expects {len(self.dtypes)} components, got {len(components)}")
        out = []
        for i, (c, dt) in enumerate(zip(components, self.dtypes)):
            a = np.asarray(c)
            if a.dtype != dt and not (dt == object and a.dtype.kind in "OSU"):
                raise errors.InvalidArgumentError(
                    None, None, f"Type mismatch in tuple component {i}. Expected {dt}, got {a.dtype}")
            if dt == object and a.dtype != object:
                a = a.astype(object)
            shape = self.shapes[i] if self.shapes else None
            got = a.shape[1:] if many else a.shape
            if shape is not None and (len(got) != len(shape) or
                                      any(d is not None and d != g for d, g in zip(shape, got))):
                raise errors.InvalidArgumentError(
                    None, None, f"Shape mismatch in tuple component {i}. Expected {_fmt(shape)}, got {_fmt(got)}")
            out.append(a)
        if many and len({a.shape[0] if a.ndim else -1 for a in out}) != 1:
            raise errors.InvalidArgumentError(
                None, None, f"{self.kind} '{self.name}': enqueue_many components must have equal first "
                f"dimensions, got {[a.shape[:1] for a in out]}")
        return out

    def _raise_if_cancelled(self):
        if self.session_closed:
            raise errors.CancelledError(None, None, f"Session has been closed ({self.kind} '{self.name}').")

    def _wait(self, deadline) -> None:
        """Wait for a change (re-checked by the caller); DeadlineExceededError past ``deadline``."""
        if deadline is not None and time.monotonic() >= deadline:
            raise errors.DeadlineExceededError(None, None, f"Timed out waiting for notification ({self.kind} "
                                               f"'{self.name}', operation_timeout_in_ms)")
        self._cv.wait(0.5 if deadline is None else max(0.0, min(0.5, deadline - time.monotonic())))

    def _deadline(self):
        return None if self.timeout is None else time.monotonic() + self.timeout

    # ---- enqueue --------------------------------------------------------------------------------
    def enqueue(self, components) -> None:
        self._enqueue([tuple(self._check(components, False))])

    def enqueue_many(self, components) -> None:
        arrays = self._check(components, True)
        n = arrays[0].shape[0] if arrays and arrays[0].ndim else 0
        self._enqueue([tuple(a[i] for a in arrays) for i in range(n)])

    def _enqueue(self, items) -> None:
        deadline = self._deadline()
        with self._cv:
            if self.closed:
                raise errors.CancelledError(None, None, f"{self.kind} '{self.name}' is closed.")
            for item in items:
                while len(self._items) >= self.capacity:
                    self._raise_if_cancelled()
                    if self.cancelled:
                        raise errors.CancelledError(None, None, "Enqueue operation was cancelled")
                    self._wait(deadline)
                self._raise_if_cancelled()
                self._put(item)
                self._cv.notify_all()

    # ---- dequeue --------------------------------------------------------------------------------
    def dequeue(self):
        return self._dequeue(1, up_to=False)[0]

    def dequeue_many(self, n: int):
        return self._batch(self._dequeue(int(n), up_to=False))

    def dequeue_up_to(self, n: int):
        return self._batch(self._dequeue(int(n), up_to=True))

    def _dequeue(self, n: int, up_to: bool) -> list:
        if n < 0:
            raise errors.InvalidArgumentError(None, None, f"Dequeue requested {n} < 0 elements")
        deadline = self._deadline()
        with self._cv:
            while not (self._ready(n) or self.closed):
                self._raise_if_cancelled()
                self._wait(deadline)
            self._raise_if_cancelled()
            have = len(self._items)
            if have < n and (not up_to or have == 0):
                raise errors.OutOfRangeError(
                    None, None, f"{self.kind} '{self.name}' is closed and has insufficient elements "
                    f"(requested {n}, current size {have})")
            items = [self._take() for _ in range(min(n, have))]
            self._cv.notify_all()
            return items

    def _batch(self, items) -> tuple:
        if not items:
            shapes = self.shapes or [()] * len(self.dtypes)
            return tuple(np.zeros((0,) + tuple(d or 0 for d in (s or ())), dt) for s, dt in zip(shapes, self.dtypes))
        return tuple(stack([it[i] for it in items], self.dtypes[i]) for i in range(len(self.dtypes)))

    # ---- close ----------------------------------------------------------------------------------
    def close(self, cancel_pending_enqueues: bool = False) -> None:
        with self._cv:
            self.closed = True
            self.cancelled = self.cancelled or cancel_pending_enqueues
            self._cv.notify_all()

    def is_closed(self) -> bool:
        return self.closed

    def cancel(self) -> None:
        """The session closed: every blocked enqueue and dequeue raises CancelledError."""
        with self._cv:
            self.session_closed = True
            self.closed = True
            self._cv.notify_all()


class RandomShuffleQueue(Queue):
    """A queue dequeuing in random order, keeping ``min_after_dequeue`` elements until closed."""

    kind = "RandomShuffleQueue"

    def __init__(self, name, capacity, dtypes, shapes=None, min_after_dequeue: int = 0, seed=None, timeout=None):
        super().__init__(name, capacity, dtypes, shapes, timeout)
        self.min_after_dequeue = min_after_dequeue
        self._items = []  # a list: take swaps a random element to the end
        self._rng = np.random.default_rng(seed)

    def _take(self):
        items = self._items
        i = int(self._rng.integers(len(items)))
        items[i], items[-1] = items[-1], items[i]
        return items.pop()

    def _ready(self, n: int) -> bool:
        return len(self._items) >= n + self.min_after_dequeue


class PaddingFIFOQueue(Queue):
    """A FIFO queue whose batches pad each component to the batch's largest shape."""

    kind = "PaddingFIFOQueue"

    def _batch(self, items) -> tuple:
        out = []
        for i, dt in enumerate(self.dtypes):
            parts = [np.asarray(it[i]) for it in items]
            rank = len(self.shapes[i]) if self.shapes and self.shapes[i] is not None else \
                (parts[0].ndim if parts else 0)
            if not parts:
                out.append(np.zeros((0,) + (0,) * rank, dt))
                continue
            out.append(pad_stack(parts, dt))
        return tuple(out)


def stack(parts, dtype) -> np.ndarray:
    """Stack equal-shape arrays along a new first axis (strings stay object arrays)."""
    if dtype == object:
        out = np.empty((len(parts),) + np.shape(parts[0]), object)
        for i, p in enumerate(parts):
            out[i, ...] = p
        return out
    return np.stack(parts).astype(dtype, copy=False)


def pad_stack(parts, dtype, padded_shape=None, padding_value=None) -> np.ndarray:
    """Stack arrays of one rank, each padded at its end to the largest (or ``padded_shape``) shape."""
    shape = tuple(max(p.shape[d] for p in parts) for d in range(parts[0].ndim))
    if padded_shape is not None:
        shape = tuple(s if want is None or want < 0 else want for s, want in zip(shape, padded_shape))
        for p in parts:
            if any(g > w for g, w in zip(p.shape, shape)):
                raise errors.InvalidArgumentError(
                    None, None, f"Attempted to pad to a smaller size than the input element: {p.shape} > {shape}")
    fill = padding_value if padding_value is not None else (b"" if dtype == object else 0)
    out = np.full((len(parts),) + shape, fill, dtype=dtype)
    for i, p in enumerate(parts):
        out[(i,) + tuple(slice(0, d) for d in p.shape)] = p
    return out


def _fmt(shape) -> str:
    return "[" + ",".join("?" if d is None else str(d) for d in shape) + "]"
