"""How a run ends: deadlines (``RunOptions.timeout_in_ms``, ``ConfigProto.operation_timeout_in_ms``) and
Ctrl-C, so that a run's effects are whole and over when ``Session.run`` returns.

- **Ctrl-C** (SIGINT) while a run is executing is held until the run has finished, then raised as
  ``KeyboardInterrupt``: an interrupted training step has applied all of its updates, never some
  (TF behaves so because its step runs outside Python). A second Ctrl-C during the same run raises at
  once, the way out of a run that blocks forever. The handler is installed by the first Session
  made on the main thread, only over Python's default handler; outside runs it raises as the default.
- **Deadlines**: a run with a timeout executes on a helper thread while the caller waits. When the
  deadline passes, the run is marked cancelled; ops that block or call user code check the mark
  (:func:`check_cancelled`: ``tf.py_func`` after its function returns, queue ops while they wait), so
  the run stops at the next such op, and only then does ``Session.run`` raise
  ``DeadlineExceededError``: nothing the run started is still going after it returned.
- **Failed multi-task runs** wait for their other tasks (``plan._threaded_get``) before raising.

State: the current run's :class:`RunControl` in a context variable (copied into Dask's worker threads
by the runtime), the run depth of the main thread and a pending-interrupt flag for the SIGINT handler.
"""

from __future__ import annotations

import contextvars
import signal
import threading

from ..framework import errors

_current: contextvars.ContextVar = contextvars.ContextVar("dataflow_run_control", default=None)


class RunControl:
    """The cancellation mark of one run."""

    __slots__ = ("cancelled", "timeout_ms")

    def __init__(self, timeout_ms: int):
        self.cancelled = threading.Event()
        self.timeout_ms = timeout_ms


def check_cancelled() -> None:
    """Raise DeadlineExceededError when the current run's deadline has passed (a cheap check for ops that
    block or run user code)."""
    ctl = _current.get()
    if ctl is not None and ctl.cancelled.is_set():
        raise errors.DeadlineExceededError(None, None, f"Timed out waiting for the run to finish "
                                           f"(deadline {ctl.timeout_ms} ms)")


def cancelled() -> bool:
    """Whether the current run's deadline has passed (for ops that wait in a polling loop)."""
    ctl = _current.get()
    return ctl is not None and ctl.cancelled.is_set()


def run_with_deadline(fn, args, timeout_ms: int):
    """``fn(*args)`` on a helper thread, at most ``timeout_ms``: past it the run is cancelled, waited for,
    and DeadlineExceededError raised."""
    ctl = RunControl(timeout_ms)
    box: list = [None, None]

    def work():
        _current.set(ctl)
        try:
            box[0] = fn(*args)
        except BaseException as e:  # noqa: BLE001  (re-raised on the caller's thread)
            box[1] = e

    thread = threading.Thread(target=contextvars.copy_context().run, args=(work,), name="dataflow-run", daemon=True)
    thread.start()
    thread.join(timeout_ms / 1000.0)
    if thread.is_alive():
        ctl.cancelled.set()
        thread.join()  # the run stops at its next check; nothing of it outlives this call
        raise errors.DeadlineExceededError(None, None, f"Timed out waiting for the run to finish (deadline "
                                           f"{timeout_ms} ms)")
    if box[1] is not None:
        raise box[1]
    return box[0]


# ---- Ctrl-C held until the run has finished ----------------------------------------------------------
class _Sigint:
    depth = 0          # runs executing on the main thread
    pending = False    # a Ctrl-C arrived during one
    installed = False


def _handler(signum, frame):
    if _Sigint.depth > 0 and not _Sigint.pending:
        _Sigint.pending = True  # raised when the run ends
        return
    _Sigint.pending = False
    raise KeyboardInterrupt


def install_sigint_handler() -> None:
    """Hold Ctrl-C during runs (main thread only; only over Python's default handler)."""
    if _Sigint.installed or threading.get_ident() != _MAIN:
        return
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _handler)
    _Sigint.installed = True


_MAIN = threading.main_thread().ident


class holding_interrupts:  # noqa: N801 (used as a statement: ``with holding_interrupts():``)
    """Around a run: a Ctrl-C arriving inside is raised when the outermost run leaves."""

    __slots__ = ("main",)

    def __enter__(self):
        self.main = threading.get_ident() == _MAIN
        if self.main:
            _Sigint.depth += 1

    def __exit__(self, exc_type, exc, tb):
        if self.main:
            _Sigint.depth -= 1
            if _Sigint.depth == 0 and _Sigint.pending:
                _Sigint.pending = False
                if exc_type is None or not issubclass(exc_type, KeyboardInterrupt):
                    raise KeyboardInterrupt
        return False
