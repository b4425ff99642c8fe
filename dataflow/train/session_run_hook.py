"""``tf.train.SessionRunHook`` and the values passed to hooks around each ``MonitoredSession.run``.

A hook sees a training loop at fixed points: ``begin`` (before the graph is finalized: it may add
ops), ``after_create_session`` (the session exists, variables are initialized or restored),
``before_run`` (it may return :class:`SessionRunArgs`: extra fetches and feeds merged into the
caller's run), ``after_run`` (the results of its own fetches, in :class:`SessionRunValues`) and
``end`` (the loop ended without an error). ``run_context.request_stop()`` makes ``should_stop()``
true after the current step.
"""

from __future__ import annotations

import collections


class SessionRunHook:
    """A hook into the training loop of a ``MonitoredSession``; every method does nothing by default."""

    def begin(self) -> None:
        """Called once before the session is created; the graph may still be changed."""

    def after_create_session(self, session, coord) -> None:
        """Called once the session is created and the model initialized or restored."""

    def before_run(self, run_context):
        """Called before each run; may return a :class:`SessionRunArgs`."""
        return None

    def after_run(self, run_context, run_values) -> None:
        """Called after each run with the results of the fetches this hook asked for."""

    def end(self, session) -> None:
        """Called when the loop ends without an error (``session`` is still usable)."""


class SessionRunArgs(collections.namedtuple("SessionRunArgs", ["fetches", "feed_dict", "options"])):
    """Fetches and feeds a hook adds to a run (``tf.train.SessionRunArgs``)."""

    def __new__(cls, fetches, feed_dict=None, options=None):
        return super().__new__(cls, fetches, feed_dict, options)


class SessionRunValues(collections.namedtuple("SessionRunValues", ["results", "options", "run_metadata"])):
    """The results of a hook's fetches (``tf.train.SessionRunValues``)."""


class SessionRunContext:
    """What a hook knows about the current run: the caller's args, the session, a stop request."""

    def __init__(self, original_args: SessionRunArgs, session):
        self._original_args = original_args
        self._session = session
        self._stop_requested = False

    @property
    def original_args(self) -> SessionRunArgs:
        return self._original_args

    @property
    def session(self):
        return self._session

    @property
    def stop_requested(self) -> bool:
        return self._stop_requested

    def request_stop(self) -> None:
        """Ask the loop to stop after this step (``should_stop()`` becomes true)."""
        self._stop_requested = True
