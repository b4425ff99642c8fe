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
        if isinstance(box[1], errors.DeadlineExceededError):
            raise box[1]  # the run's own timeout (a blocked queue op's), with its more precise message
        raise errors.DeadlineExceededError(None, None, f"Timed out waiting for the run to finish (deadline "
                                           f"{timeout_ms} ms)")
    if box[1] is not None:
        raise box[1]
    return box[0]


# ---- Ctrl-C held until the run has finished ----------------------------------------------------------
class _Sigint:
    """Runs executing on the main thread (``depth``, counted by ``Session.run``) and whether a Ctrl-C
    arrived during one (``pending``)."""

    __slots__ = ("depth", "pending", "installed")

    def __init__(self):
        self.depth = 0
        self.pending = False
        self.installed = False

    def leave(self, counted: bool = False) -> None:
        """A run is over (``counted``: its depth already taken back): raise a held Ctrl-C when it was the
        outermost one (chained to the run's own error, if it is raising one)."""
        if not counted:
            self.depth -= 1
        if self.depth == 0 and self.pending:
            self.pending = False
            raise KeyboardInterrupt


SIGINT = _Sigint()
MAIN = threading.main_thread().ident


def _handler(signum, frame):
    if SIGINT.depth > 0 and not SIGINT.pending:
        SIGINT.pending = True  # raised when the run ends
        return
    SIGINT.pending = False
    raise KeyboardInterrupt


def install_sigint_handler() -> None:
    """Hold Ctrl-C during runs (main thread only; only over Python's default handler)."""
    if SIGINT.installed or threading.get_ident() != MAIN:
        return
    if signal.getsignal(signal.SIGINT) is signal.default_int_handler:
        signal.signal(signal.SIGINT, _handler)
    SIGINT.installed = True
