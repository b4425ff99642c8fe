"""``tf.train.MonitoredSession`` and ``MonitoredTrainingSession``: a session that initializes or resumes
the model, runs hooks around every step, and ends cleanly.

Its life, as in TensorFlow 1.15:

1. every hook's ``begin()`` (hooks may still add ops);
2. the session creator finalizes the :class:`Scaffold` (default init op, ready op, local init op,
   summary op, saver) and the graph, makes a ``Session`` and **restores the latest checkpoint** of
   ``checkpoint_dir`` if there is one (else runs the init op and ``init_fn``), then the local init op,
   and checks that no variable is left uninitialized;
3. every hook's ``after_create_session``;
4. each ``run(fetches)``: the hooks' ``before_run`` fetches and feeds are merged into one
   ``Session.run``, then each hook gets its own results in ``after_run`` and may request a stop;
5. ``close()`` (or leaving the ``with`` block): every hook's ``end()`` when no error ended the loop
   (a ``CheckpointSaverHook`` saves the last step there), then the session is closed. An
   ``OutOfRangeError`` (an input pipeline that ran out) or ``StopIteration`` ends the ``with`` block
   cleanly, as in TF.

Because step 2 restores the latest checkpoint, a training loop that was killed resumes at the step of
its last checkpoint when it is started again.
"""

from __future__ import annotations

import time

from ..framework import errors
from ..framework.graph import GraphKeys, get_default_graph
from . import basic_session_run_hooks as hooks_lib
from .saver import Saver, get_checkpoint_state, latest_checkpoint
from .session_run_hook import SessionRunArgs, SessionRunContext, SessionRunValues

__all__ = ["ChiefSessionCreator", "MonitoredSession", "MonitoredTrainingSession", "Scaffold", "SessionCreator",
           "SingularMonitoredSession", "WorkerSessionCreator"]

USE_DEFAULT = object()


class Scaffold:
    """The ops a monitored session needs (``tf.train.Scaffold``); missing ones get TF's defaults."""

    def __init__(self, init_op=None, init_feed_dict=None, init_fn=None, ready_op=None,
                 ready_for_local_init_op=None, local_init_op=None, summary_op=None, saver=None,
                 copy_from_scaffold=None):
        if copy_from_scaffold is not None:
            base = copy_from_scaffold
            init_op = init_op if init_op is not None else base.init_op
            init_feed_dict = init_feed_dict or base.init_feed_dict
            init_fn = init_fn or base._user_init_fn
            ready_op = ready_op if ready_op is not None else base.ready_op
            ready_for_local_init_op = ready_for_local_init_op or base.ready_for_local_init_op
            local_init_op = local_init_op if local_init_op is not None else base.local_init_op
            summary_op = summary_op if summary_op is not None else base.summary_op
            saver = saver or base.saver
        self._init_op, self._init_feed_dict, self._user_init_fn = init_op, init_feed_dict, init_fn
        self._ready_op, self._ready_for_local_init_op = ready_op, ready_for_local_init_op
        self._local_init_op, self._summary_op, self._saver = local_init_op, summary_op, saver

    @staticmethod
    def get_or_default(arg_name, collection_key, default_constructor):
        """The single op of ``collection_key``, or ``default_constructor()`` added to it."""
        found = get_default_graph().get_collection(collection_key)
        if len(found) > 1:
            raise RuntimeError(f"More than one item in collection {collection_key}. Please indicate which one to "
                               f"use by passing it to the tf.Scaffold constructor as: tf.Scaffold({arg_name}=item "
                               f"to use)")
        if found:
            return found[0]
        op = default_constructor()
        if op is not None:
            get_default_graph().add_to_collection(collection_key, op)
        return op

    def finalize(self) -> "Scaffold":
        """Make the missing ops, then finalize the graph."""
        from ..ops.constant import group
        from ..ops.variables import (
            global_variables, global_variables_initializer, local_variables_initializer,
            report_uninitialized_variables)
        from ..summary import merge_all

        graph = get_default_graph()
        if self._init_op is None:
            self._init_op = Scaffold.get_or_default("init_op", GraphKeys.INIT_OP, global_variables_initializer)
        if self._ready_op is None:
            self._ready_op = Scaffold.get_or_default("ready_op", GraphKeys.READY_OP, report_uninitialized_variables)
        if self._ready_for_local_init_op is None:
            self._ready_for_local_init_op = Scaffold.get_or_default(
                "ready_for_local_init_op", "ready_for_local_init_op",
                lambda: report_uninitialized_variables(global_variables(), name="report_uninitialized_globals"))
        if self._local_init_op is None:
            self._local_init_op = Scaffold.get_or_default(
                "local_init_op", GraphKeys.LOCAL_INIT_OP, lambda: group(local_variables_initializer()))
        if self._summary_op is None:
            self._summary_op = Scaffold.get_or_default("summary_op", GraphKeys.SUMMARY_OP, merge_all)
        if self._saver is None:
            self._saver = Scaffold.get_or_default("saver", GraphKeys.SAVERS,
                                                  lambda: Saver(sharded=True, allow_empty=True))
        self._saver.build()
        graph.finalize()
        return self

    @property
    def init_op(self):
        return self._init_op

    @property
    def init_feed_dict(self):
        return self._init_feed_dict

    @property
    def init_fn(self):
        return (lambda sess: self._user_init_fn(self, sess)) if self._user_init_fn else None

    @property
    def ready_op(self):
        return self._ready_op

    @property
    def ready_for_local_init_op(self):
        return self._ready_for_local_init_op

    @property
    def local_init_op(self):
        return self._local_init_op

    @property
    def summary_op(self):
        return self._summary_op

    @property
    def saver(self):
        return self._saver


class SessionCreator:
    """Makes the session of a :class:`MonitoredSession`."""

    def create_session(self):
        raise NotImplementedError


def _uninitialized(sess, ready_op) -> list:
    if ready_op is None:
        return []
    return [n.decode() if isinstance(n, bytes) else str(n) for n in sess.run(ready_op).ravel()]


class ChiefSessionCreator(SessionCreator):
    """Creates the chief's session: restore the latest checkpoint of ``checkpoint_dir``, or initialize."""

    def __init__(self, scaffold=None, master="", config=None, checkpoint_dir=None,
                 checkpoint_filename_with_path=None):
        self._scaffold = scaffold or Scaffold()
        self._master, self._config = master, config
        self._checkpoint_dir, self._checkpoint_path = checkpoint_dir, checkpoint_filename_with_path

    def create_session(self):
        from ..runtime.session import Session

        scaffold = self._scaffold.finalize()
        sess = Session(self._master, graph=get_default_graph(), config=self._config)
        path = self._checkpoint_path
        if path is None and self._checkpoint_dir:
            path = latest_checkpoint(self._checkpoint_dir)
        if path is not None:
            scaffold.saver.restore(sess, path)
            state = get_checkpoint_state(self._checkpoint_dir) if self._checkpoint_dir else None
            if state is not None:  # so max_to_keep keeps counting the checkpoints of earlier runs
                scaffold.saver.recover_last_checkpoints(list(state.all_model_checkpoint_paths))
        else:
            if scaffold.init_op is not None:
                sess.run(scaffold.init_op, feed_dict=scaffold.init_feed_dict)
            if scaffold.init_fn is not None:
                scaffold.init_fn(sess)
        if scaffold.local_init_op is not None:
            sess.run(scaffold.local_init_op)
        missing = _uninitialized(sess, scaffold.ready_op)
        if missing:
            sess.close()
            raise RuntimeError(f"Init operations did not make model ready.  Init op: {scaffold.init_op}, init fn: "
                               f"{scaffold.init_fn}, local_init_op: {scaffold.local_init_op}, error: Variables not "
                               f"initialized: {', '.join(missing)}")
        return sess


class WorkerSessionCreator(SessionCreator):
    """Creates a worker's session: waits (up to ``max_wait_secs``) until the chief made the model ready."""

    def __init__(self, scaffold=None, master="", config=None, max_wait_secs=30 * 60):
        self._scaffold = scaffold or Scaffold()
        self._master, self._config, self._max_wait_secs = master, config, max_wait_secs

    def create_session(self):
        from ..runtime.session import Session

        scaffold = self._scaffold.finalize()
        sess = Session(self._master, graph=get_default_graph(), config=self._config)
        deadline = time.time() + self._max_wait_secs
        while _uninitialized(sess, scaffold.ready_for_local_init_op):
            if time.time() >= deadline:
                sess.close()
                raise errors.DeadlineExceededError(None, None, f"Session was not ready after waiting "
                                                               f"{self._max_wait_secs} secs.")
            time.sleep(min(1.0, self._max_wait_secs))
        if scaffold.local_init_op is not None:
            sess.run(scaffold.local_init_op)
        return sess


class _StepContext:
    def __init__(self, monitored, session):
        self._monitored, self._session = monitored, session

    @property
    def session(self):
        return self._session

    def run_with_hooks(self, *args, **kwargs):
        return self._monitored.run(*args, **kwargs)

    def request_stop(self):
        self._monitored._should_stop = True


class MonitoredSession:
    """A session that runs hooks around each step (``tf.train.MonitoredSession``).

    Examples
    --------
    >>> import dataflow as tf                                                  # doctest: +SKIP
    >>> step = tf.train.get_or_create_global_step()
    >>> train = tf.assign_add(step, 1)
    >>> with tf.train.MonitoredTrainingSession(checkpoint_dir="/tmp/run",
    ...                                        hooks=[tf.train.StopAtStepHook(last_step=100)]) as sess:
    ...     while not sess.should_stop():
    ...         sess.run(train)
    """

    def __init__(self, session_creator=None, hooks=None, stop_grace_period_secs=120):
        self._hooks = list(hooks or [])
        self._graph = get_default_graph()
        for hook in self._hooks:
            hook.begin()
        self._sess = (session_creator or ChiefSessionCreator()).create_session()
        self._should_stop = False
        self._closed = False
        for hook in self._hooks:
            hook.after_create_session(self._sess, None)

    @property
    def graph(self):
        return self._graph

    def should_stop(self) -> bool:
        return self._closed or self._should_stop

    def run(self, fetches, feed_dict=None, options=None, run_metadata=None):
        """Run ``fetches`` together with the hooks' fetches; return the caller's results."""
        if self.should_stop():
            raise RuntimeError("Run called even after should_stop requested.")
        context = SessionRunContext(SessionRunArgs(fetches, feed_dict, options), self._sess)
        hook_fetches, feeds = {}, dict(feed_dict or {})
        for i, hook in enumerate(self._hooks):
            args = hook.before_run(context)
            if args is None:
                continue
            if args.fetches is not None:
                hook_fetches[i] = args.fetches
            for key, value in (args.feed_dict or {}).items():
                if key in feeds:
                    raise RuntimeError(f"Same tensor is fed by a SessionRunHook and user (or another hook): {key}")
                feeds[key] = value
        order = sorted(hook_fetches)
        results = self._sess.run([fetches] + [hook_fetches[i] for i in order], feed_dict=feeds or None,
                                 options=options, run_metadata=run_metadata)
        by_hook = dict(zip(order, results[1:]))
        for i, hook in enumerate(self._hooks):
            hook.after_run(context, SessionRunValues(by_hook.get(i), options, run_metadata))
        self._should_stop = self._should_stop or context.stop_requested
        return results[0]

    def run_step_fn(self, step_fn):
        """Call ``step_fn(step_context)``; ``step_context.run_with_hooks`` runs a step with the hooks."""
        return step_fn(_StepContext(self, self._sess))

    def _close(self, exception_type=None) -> None:
        if self._closed:
            return
        try:
            if exception_type is None:
                for hook in self._hooks:
                    hook.end(self._sess)
        finally:
            self._closed = True
            self._sess.close()

    def close(self) -> None:
        """Call every hook's ``end`` and close the session."""
        self._close()

    def __enter__(self):
        return self

    def __exit__(self, exception_type, exception_value, traceback):
        if exception_type is not None and issubclass(exception_type, (errors.OutOfRangeError, StopIteration)):
            exception_type = None  # the input ran out: a normal end of training, as TF
        self._close(exception_type)
        return exception_type is None


class SingularMonitoredSession(MonitoredSession):
    """A :class:`MonitoredSession` for a single process, with access to its raw session."""

    def __init__(self, hooks=None, scaffold=None, master="", config=None, checkpoint_dir=None,
                 stop_grace_period_secs=120, checkpoint_filename_with_path=None):
        creator = ChiefSessionCreator(scaffold=scaffold, master=master, config=config,
                                      checkpoint_dir=checkpoint_dir,
                                      checkpoint_filename_with_path=checkpoint_filename_with_path)
        super().__init__(creator, hooks, stop_grace_period_secs)

    def raw_session(self):
        return self._sess


def _pick(steps, secs, default_steps=None, default_secs=None):
    if steps is USE_DEFAULT and secs is USE_DEFAULT:
        return default_steps, default_secs
    return (None if steps is USE_DEFAULT else steps), (None if secs is USE_DEFAULT else secs)


def MonitoredTrainingSession(master="", is_chief=True, checkpoint_dir=None, scaffold=None,  # noqa: N802 (TF's name)
                             hooks=None, chief_only_hooks=None, save_checkpoint_secs=USE_DEFAULT,
                             save_summaries_steps=USE_DEFAULT, save_summaries_secs=USE_DEFAULT, config=None,
                             stop_grace_period_secs=120, log_step_count_steps=100, max_wait_secs=7200,
                             save_checkpoint_steps=USE_DEFAULT, summary_dir=None, save_graph_def=True):
    """A :class:`MonitoredSession` set up for training, with TF's default hooks.

    The chief restores the latest checkpoint of ``checkpoint_dir`` (or initializes), and gets a
    ``CheckpointSaverHook`` (every ``save_checkpoint_secs`` = 600 s by default, or
    ``save_checkpoint_steps``), a ``SummarySaverHook`` (every ``save_summaries_steps`` = 100 steps) and
    a ``StepCounterHook`` (every ``log_step_count_steps``) writing to ``summary_dir`` (default
    ``checkpoint_dir``); ``chief_only_hooks`` run on the chief only, ``hooks`` everywhere.
    """
    summary_steps, summary_secs = _pick(save_summaries_steps, save_summaries_secs, default_steps=100)
    ckpt_steps, ckpt_secs = _pick(save_checkpoint_steps, save_checkpoint_secs, default_secs=600)
    scaffold = scaffold or Scaffold()
    if not is_chief:
        creator = WorkerSessionCreator(scaffold=scaffold, master=master, config=config, max_wait_secs=max_wait_secs)
        return MonitoredSession(creator, hooks=hooks or [], stop_grace_period_secs=stop_grace_period_secs)
    all_hooks = list(chief_only_hooks or [])
    creator = ChiefSessionCreator(scaffold=scaffold, checkpoint_dir=checkpoint_dir, master=master, config=config)
    summary_dir = summary_dir or checkpoint_dir
    if summary_dir:
        if log_step_count_steps and log_step_count_steps > 0:
            all_hooks.append(hooks_lib.StepCounterHook(output_dir=summary_dir, every_n_steps=log_step_count_steps))
        if (summary_steps and summary_steps > 0) or (summary_secs and summary_secs > 0):
            all_hooks.append(hooks_lib.SummarySaverHook(scaffold=scaffold, save_steps=summary_steps,
                                                        save_secs=summary_secs, output_dir=summary_dir))
    if checkpoint_dir and ((ckpt_secs and ckpt_secs > 0) or (ckpt_steps and ckpt_steps > 0)):
        all_hooks.append(hooks_lib.CheckpointSaverHook(checkpoint_dir, save_steps=ckpt_steps, save_secs=ckpt_secs,
                                                       scaffold=scaffold, save_graph_def=save_graph_def))
    all_hooks.extend(hooks or [])
    return MonitoredSession(creator, hooks=all_hooks, stop_grace_period_secs=stop_grace_period_secs)
