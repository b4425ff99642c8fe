"""``tf.train.Coordinator``: lets a set of threads stop together, and reports the first error.

Threads (QueueRunners, user threads) poll ``should_stop()``; any of them may ``request_stop(ex)``.
The first exception passed is kept and re-raised by ``join`` in the thread that joins, once every
registered thread has ended (or the grace period expired: then RuntimeError names the stragglers).
State: an Event (stop requested), the first exc_info, the registered threads, under one lock.
"""

from __future__ import annotations

import contextlib
import sys
import threading
import time

from ..framework import errors


class Coordinator:
    """A coordinator of threads.

    Parameters
    ----------
    clean_stop_exception_types : tuple of type, optional
        Exceptions that stop the threads without being reported by ``join``
        (default: ``(tf.errors.OutOfRangeError,)``).

    Examples
    --------
    >>> import dataflow as tf
    >>> coord = tf.train.Coordinator()
    >>> coord.request_stop()
    >>> coord.should_stop()
    True
    >>> coord.join([])
    """

    def __init__(self, clean_stop_exception_types=None):
        if clean_stop_exception_types is None:
            clean_stop_exception_types = (errors.OutOfRangeError,)
        self._clean_stop_exception_types = tuple(clean_stop_exception_types)
        self._lock = threading.Lock()
        self._stop_event = threading.Event()
        self._exc_info_to_raise = None
        self._joined = False
        self._registered_threads: set = set()

    def _filter_exception(self, ex):
        if isinstance(ex, tuple):
            ex2 = ex[1]
        else:
            ex2 = ex
        if isinstance(ex2, self._clean_stop_exception_types):
            return None
        return ex

    def request_stop(self, ex=None) -> None:
        """Ask every thread to stop; ``ex`` (an exception or an exc_info tuple) is kept for ``join``
        unless one was kept already or it is a clean-stop type."""
        with self._lock:
            ex = self._filter_exception(ex)
            if self._joined:
                if isinstance(ex, tuple):
                    _, ex_instance, _ = ex
                else:
                    ex_instance = ex
                if ex_instance is not None:
                    # after join: report to the caller as TF does
                    raise ex_instance
                return
            if not self._stop_event.is_set():
                if ex and self._exc_info_to_raise is None:
                    if isinstance(ex, tuple):
                        self._exc_info_to_raise = ex
                    else:
                        self._exc_info_to_raise = (type(ex), ex, ex.__traceback__)
                    if not isinstance(self._exc_info_to_raise[1], BaseException):
                        raise ValueError(f"ex must be an exception or an exc_info tuple: {ex!r}")
                self._stop_event.set()

    def clear_stop(self) -> None:
        """Forget a stop request and its exception (before starting threads again)."""
        with self._lock:
            self._joined = False
            self._exc_info_to_raise = None
            self._stop_event.clear()

    def should_stop(self) -> bool:
        """True once a stop was requested."""
        return self._stop_event.is_set()

    @contextlib.contextmanager
    def stop_on_exception(self):
        """``with coord.stop_on_exception():`` an exception in the block requests a stop with it."""
        try:
            yield
        except BaseException:  # noqa: BLE001 (reported through the coordinator, as TF does)
            self.request_stop(ex=sys.exc_info())

    def wait_for_stop(self, timeout=None) -> bool:
        """Wait until a stop is requested (at most ``timeout`` seconds); True if it was."""
        return self._stop_event.wait(timeout)

    def register_thread(self, thread) -> None:
        with self._lock:
            self._registered_threads.add(thread)

    def join(self, threads=None, stop_grace_period_secs=120, ignore_live_threads=False) -> None:
        """Wait for ``threads`` (and the registered ones) to end after a stop request; re-raise the
        first reported exception.

        Raises
        ------
        RuntimeError
            If threads are still alive ``stop_grace_period_secs`` after the stop request (unless
            ``ignore_live_threads``).
        """
        with self._lock:
            threads = set(threads or ()) | self._registered_threads
        # wait for a stop request or for all threads to end by themselves
        while any(t.is_alive() for t in threads) and not self.wait_for_stop(1.0):
            pass
        deadline = time.monotonic() + stop_grace_period_secs
        while any(t.is_alive() for t in threads) and time.monotonic() < deadline:
            for t in threads:
                t.join(0.05)
        stragglers = [t.name for t in threads if t.is_alive()]
        with self._lock:
            self._joined = True
            self._registered_threads = set()
            if self._exc_info_to_raise:
                _, ex, tb = self._exc_info_to_raise
                raise ex.with_traceback(tb)
        if stragglers and not ignore_live_threads:
            raise RuntimeError(f"Coordinator stopped with threads still running: {' '.join(stragglers)}")

    @property
    def joined(self) -> bool:
        return self._joined

    def raise_requested_exception(self) -> None:
        """Re-raise the reported exception, if any."""
        with self._lock:
            if self._exc_info_to_raise:
                _, ex, tb = self._exc_info_to_raise
                raise ex.with_traceback(tb)


class LooperThread(threading.Thread):
    """``tf.train.LooperThread``: calls ``target(*args)`` every ``timer_interval_secs`` until the
    coordinator stops."""

    def __init__(self, coord, timer_interval_secs, target=None, args=None, kwargs=None):
        super().__init__(daemon=True)
        self._coord = coord
        self._timer_interval_secs = timer_interval_secs
        self._target = target
        self._args = args or ()
        self._kwargs = kwargs or {}
        coord.register_thread(self)

    def run(self):
        with self._coord.stop_on_exception():
            while not self._coord.wait_for_stop(self._timer_interval_secs or 0):
                self._target(*self._args, **self._kwargs)
