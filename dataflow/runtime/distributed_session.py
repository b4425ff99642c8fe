"""``DistributedSession``: the session a cluster target gives (``tf.Session("tcp://...")``).

It owns a ``distributed.Client`` (or borrows the one passed as target), the futures of the variables'
current values and where they live, and the waits (all with timeouts) of a run. Planning and
submitting are in :mod:`dataflow.runtime.distributed`, which its module docstring explains.
"""

from __future__ import annotations

import itertools
import operator
import pickle
import uuid

from ..framework import errors
from .session import InteractiveSession, Session


def _connect(target, config, timeout: float):
    """A ``distributed.Client`` for a target: a Client, a ``Server``/object with ``.target``, an address."""
    try:
        from distributed import Client
    except ImportError:  # pragma: no cover - distributed is a dependency, but say so clearly
        raise errors.UnimplementedError(None, None, "Cluster targets need dask.distributed: "
                                        "pip install distributed") from None
    if isinstance(target, Client):
        return target, False
    address = getattr(target, "target", target)
    if not isinstance(address, str):
        raise TypeError(f"Session target must be an address string, a distributed.Client or a tf.train.Server, "
                        f"got {type(target).__name__}")
    if address.startswith("grpc://"):
        raise errors.UnimplementedError(None, None, f"Session target {address}: there is no gRPC runtime; use the "
                                        "Dask scheduler's address (tcp:// or tls://), e.g. tf.train.Server(...).target")
    security = getattr(config, "dask_security", None)
    if address.startswith("tls://") and security is None:
        raise errors.UnauthenticatedError(None, None, f"Session target {address} is a TLS cluster: pass "
                                          "ConfigProto(dask_security=distributed.Security(...))")
    try:
        return Client(address, security=security, timeout=timeout, set_as_default=False), True
    except (OSError, TimeoutError) as e:
        raise errors.UnavailableError(None, None, f"Cannot reach the Dask scheduler at {address} within "
                                      f"{timeout:g} s: {e}") from None


_LAZY_RELEASES = 32  # small finished results released together (DistributedSession._retire)


class DistributedSession(Session):
    """A session whose runs execute on a dask.distributed cluster.

    Parameters
    ----------
    target : str, distributed.Client or tf.train.Server
        The scheduler's address (``"tcp://127.0.0.1:8786"``, ``"tls://..."``), a connected Client, or
        a server whose ``target`` is that address.
    graph, config
        As for ``tf.Session``. ``config.operation_timeout_in_ms`` bounds every wait (default 120 s);
        ``config.dask_security`` is the ``distributed.Security`` for ``tls://`` targets;
        ``config.dask_progress=True`` shows a progress bar for each run.

    Attributes
    ----------
    recover_from : str or callable or None
        What to do when variables are lost with a worker: a directory written by
        :meth:`save_variables` (restored, then the run is retried), a callable
        ``f(session, lost_variable_names)`` that restores them, or None (the run raises AbortedError).

    Examples
    --------
    >>> from dataflow.cluster import LocalCluster          # doctest: +SKIP
    >>> with LocalCluster(ps=1, worker=2) as cluster:      # doctest: +SKIP
    ...     with tf.device("/job:ps/task:0"):
    ...         w = tf.Variable(1.0)
    ...     sess = tf.Session(cluster.target)
    """

    def __init__(self, target, graph=None, config=None):
        super().__init__("", graph, config)
        self.target = target if isinstance(target, str) else getattr(target, "target", target)
        ms = getattr(self.config, "operation_timeout_in_ms", 0) or 0
        from .distributed import _DEFAULT_TIMEOUT_S

        self._wait_s = ms / 1000.0 if ms > 0 else _DEFAULT_TIMEOUT_S
        self._timeout = 0  # no local deadline thread (Session.run): every cluster wait has its own timeout
        self._client, self._owns_client = _connect(target, self.config, self._wait_s)
        self._id = uuid.uuid4().hex
        self._vars: dict = {}       # variable name -> (future, index into its result or None)
        self._var_home: dict = {}   # variable name -> worker name (None: any)
        self._steps = itertools.count()
        self._plan_keys: list = []
        self.recover_from = None
        from .dask_plugins import install

        install(self._client)  # best effort: lower the cluster's stream batching intervals
        self._topic = f"dataflow-fetch-{self._id}"  # small fetches pushed by the workers (_run_segment)
        self._pushed: dict = {}  # task key -> pickled fetches (None: the task ran, its fetches not sent)
        self._waiting = None  # (keys whose event has not come, asyncio.Event set when none is left)
        self._held: list = []  # futures released with the next run's tasks (see _submit_and_wait)
        self._lazy: list = []  # small results released _LAZY_RELEASES at a time (see _retire)
        self._client.subscribe_topic(self._topic, self._on_pushed)

    @property
    def sess_str(self) -> str:
        return str(self.target)

    @property
    def client(self):
        """The ``distributed.Client`` the session submits to."""
        return self._client

    @property
    def dashboard_link(self) -> str:
        """The Dask dashboard's address (task stream, progress, groups keyed by op names)."""
        return self._client.dashboard_link

    def _make_plan(self, fetches, feed_dict, trace: bool = False):
        from .distributed import DistributedPlan
        from .session import _feed_checker, _flatten_fetches, _single_builder
        from ..framework.graph import Operation, Tensor

        flat: list = []
        builder = _flatten_fetches(self.graph, fetches, flat)
        if isinstance(fetches, (Tensor, Operation, str)) or hasattr(fetches, "_as_graph_element"):
            builder = _single_builder
        feeds = [self.graph.as_graph_element(k, allow_operation=False) for k in feed_dict]
        plan = DistributedPlan(self, flat, feeds, builder, trace)
        plan.checkers = [_feed_checker(t) for t in feeds]
        self._plan_keys.append(plan.key)
        return plan

    def lower(self, fetches, feed_dict=None):
        """The tasks one ``run(fetches, feed_dict)`` submits, as a Dask collection on this cluster.

        ``dask.compute(sess.lower(y, {x: 1}))`` runs them on the session's client and gives what
        ``sess.run`` gives (reading the variables' current values; the new values it computes are
        not kept); ``dask.visualize`` draws them, keyed by op names as in the task stream.
        """
        from .distributed import LoweredClusterRun

        feed_dict = feed_dict or {}
        plan = self._make_plan(fetches, feed_dict)
        return LoweredClusterRun(plan, [check(v) for check, v in zip(plan.checkers, feed_dict.values())])

    def list_devices(self):
        """One CPU device per worker named ``job-task`` (``/job:ps/replica:0/task:0/device:CPU:0``), plus
        ``GPU:0`` for a worker with the resource ``GPU``."""
        out = []
        for w in self._client.scheduler_info(n_workers=-1)["workers"].values():
            job, _, task = str(w.get("name")).rpartition("-")
            if not job or not task.isdigit():
                continue
            out.append(f"/job:{job}/replica:0/task:{task}/device:CPU:0")
            if w.get("resources", {}).get("GPU"):
                out.append(f"/job:{job}/replica:0/task:{task}/device:GPU:0")
        return sorted(out)

    def _fast_stream(self) -> None:
        """Let the client send a run's tasks to the scheduler at once.

        ``distributed.Client`` batches its messages to the scheduler every 10 ms: any message within
        10 ms of the previous one (the release of the last run's futures, then this run's tasks) waits
        for the rest of that interval. The session lowers that interval on its client's stream
        (``Client.scheduler_comm``, replaced on reconnection, hence checked every run) as the plugins
        of :mod:`dataflow.runtime.dask_plugins` lower the scheduler's and workers'.
        """
        from .dask_plugins import lower_interval

        lower_interval(getattr(self._client, "scheduler_comm", None))

    def _on_pushed(self, event) -> None:
        """Dask event handler (client's event loop): a segment task ran, here are its small fetches."""
        msg = event[1]
        if isinstance(msg, dict) and "key" in msg:
            self._pushed[msg["key"]] = msg.get("data")
            waiting = self._waiting
            if waiting is not None:
                waiting[0].discard(msg["key"])
                if not waiting[0]:
                    waiting[1].set()

    # ---- waiting for a run ----------------------------------------------------------------------
    def _submit_and_wait(self, submit) -> tuple:
        """Submit a run's tasks and wait for them, in one call on the client's event loop.

        ``submit()`` returns ``(segment futures, fetch futures, new variable entries)``. Each call
        from the user's thread into the client's event loop thread wakes it up (``Client.submit``,
        ``wait``, and each future's release do), which costs about a millisecond per step on a busy
        machine; here the submission, the first wait (up to a second) and the release of the last
        run's futures share one. Those futures (``_held``: the last run's segment results and the
        variables' versions it replaced) are dropped just before the submission: a future's release
        is a callback queued on this loop ahead of the stream's write, so the releases and this
        run's tasks reach the scheduler in one message.

        The run is done when every segment task has either finished or sent its completion event
        (:func:`~dataflow.runtime.distributed._push_fetches`, sent once the segment has run, ahead of
        the task's completion report, which takes the scheduler a task transition longer). Then the
        variables' entries are swapped there too (the old versions go to ``_held``). Returns
        ``(*submit(), done)``; not done (a timeout, an error, a lost worker): the caller's bounded
        :meth:`_wait` tells what happened.
        """
        import asyncio

        from distributed import wait

        progress = getattr(self.config, "dask_progress", False)  # _wait shows the bar as it waits

        async def run():
            # the last run's futures go first: a Future's release is a callback on this loop, queued
            # ahead of the stream's write of this run's tasks, so both leave in one message
            self._held = []
            if len(self._lazy) >= _LAZY_RELEASES:
                self._lazy = []
            seg_futs, fetch_futs, new_vars = submit()
            if progress:
                return seg_futs, fetch_futs, new_vars, False
            pending = {f.key for f in seg_futs} - set(self._pushed)
            signalled = asyncio.Event()
            if pending:
                self._waiting = (pending, signalled)  # _on_pushed runs on this loop: no race
            else:
                signalled.set()
            with self._client.as_current():
                finished = asyncio.ensure_future(wait(seg_futs, timeout=min(1.0, self._wait_s)))
            events = asyncio.ensure_future(signalled.wait())
            try:
                await asyncio.wait([finished, events], return_when=asyncio.FIRST_COMPLETED)
            finally:
                self._waiting = None
                for t in (finished, events):
                    if not t.done():
                        t.cancel()
                    elif not t.cancelled():
                        t.exception()  # retrieved: timeouts and cancellations are _wait's to tell
            done = signalled.is_set() or all(f.status == "finished" for f in seg_futs)
            if done:  # the variables' old versions are released with the next run's tasks
                self._held = [e[0] for e in map(self._vars.get, new_vars) if e is not None]
                self._vars.update(new_vars)
            return seg_futs, fetch_futs, new_vars, done

        return self._client.sync(run)

    def _send_plan(self, path: list, blob: bytes) -> None:
        """Put a plan's pickled description in the scheduler's metadata at ``path`` (bounded wait).

        ``Client.set_metadata`` is a request on its own connection, which would try to reach a dead
        scheduler for Dask's whole connect timeout (30 s): the wait is cut in 1 s slices that give up
        as soon as the client has lost the scheduler, as the run's own waits do.
        """
        import asyncio
        import concurrent.futures
        import time

        self._check_connected()
        client = self._client
        pending = asyncio.run_coroutine_threadsafe(client.scheduler.set_metadata(keys=path, value=blob),
                                                   client.loop.asyncio_loop)
        deadline = time.monotonic() + self._wait_s
        while True:
            try:
                pending.result(timeout=1.0)
                return
            except concurrent.futures.TimeoutError:
                if client.status == "running" and time.monotonic() < deadline:
                    continue
                pending.cancel()
                why = f"the client lost it ({client.status})" if client.status != "running" else \
                    f"no answer within {self._wait_s:g} s"
            except Exception as e:  # noqa: BLE001 - the scheduler went away while answering
                why = f"{type(e).__name__}: {e}"
            raise errors.UnavailableError(None, None, f"Could not send the plan to the Dask scheduler at "
                                          f"{self.target}: {why}")

    def _retire(self, futures, small) -> None:
        """Let go of a finished run's futures: released with a later run's tasks.

        ``small[i]`` tells whether ``futures[i]`` is a result known to be tiny: only fetches that came with the
        completion event (at most 4 KiB pickled), or nothing. Those are released
        :data:`_LAZY_RELEASES` at a time: each release costs the scheduler a ``free-keys`` message to
        the worker and the worker a ``release-worker-data`` answer, which a quick step otherwise
        pays every time, in the middle of its own messages. Results that may be large (outputs
        other segments read, variables) go with the next run.
        """
        for f, tiny in zip(futures, small):
            (self._lazy if tiny else self._held).append(f)

    def _wait(self, seg_futs, current: dict) -> None:
        """Wait (bounded) for a run's segment tasks; errors as TF's classes.

        ``current`` maps variable names to the futures the run started from (to tell lost ones).
        """
        from .distributed import _LostVariables

        if getattr(self.config, "dask_progress", False):
            from distributed import progress

            with self._client.as_current():
                progress(seg_futs, notebook=False)
        if not self._wait_bounded(seg_futs, watch=list(current.values())):
            raise errors.UnavailableError(None, None, self._stalled_message(seg_futs))
        for f in seg_futs:
            if f.status == "finished":
                continue
            lost = sorted(name for name, v in current.items() if v.status != "finished")
            if f.status == "pending":  # cut short by a lost input: which variables are gone
                gone = set(self._lost_keys(list(current.values())))
                lost = sorted(name for name, v in current.items() if v.key in gone)
            if f.status == "error":
                exc = f.exception()
                if isinstance(exc, errors.OpError):
                    raise exc
                if type(exc).__name__ == "KilledWorker":
                    raise errors.UnavailableError(None, None, f"Task {f.key} killed its workers: {exc}")
                raise errors.UnknownError(None, None, f"Task {f.key} failed: {type(exc).__name__}: {exc}")
            if lost:
                raise _LostVariables(lost)
            self._check_connected()
            raise errors.UnavailableError(None, None, f"Task {f.key} was {f.status} by the Dask scheduler at "
                                          f"{self.target}, or the connection to it was lost")

    def _fetch(self, fetch_futs: dict) -> dict:
        """``{segment index: its fetched values}`` of a finished run's segments ``{index: (future, plan)}``.

        Values a worker pushed (small ones, :func:`~dataflow.runtime.distributed._push_fetches`)
        arrived with the task's completion; the others are gathered straight from the workers
        (``direct=True``): a segment's whole result when it returns only fetches (and outputs),
        else its fetches alone, split off by a ``getitem`` task on its worker (variables never
        travel to the client).
        """
        out, gather = {}, {}
        for i, (f, sp) in fetch_futs.items():
            data = self._pushed.pop(f.key, None)
            if data is not None:
                out[i] = pickle.loads(data)
            elif sp.written:
                gather[i] = (self._client.submit(operator.getitem, f, 0, key=f"fetch-{f.key}", **sp.submit_kw()),
                             False)
            else:
                gather[i] = (f, True)
        if not gather:
            return out
        if not self._wait_bounded([f for f, _ in gather.values()]):
            raise errors.UnavailableError(None, None, f"Could not gather fetches within {self._wait_s:g} s")
        try:
            values = self._client.gather([f for f, _ in gather.values()], direct=True)
        except Exception as e:  # the worker or scheduler went away between the wait and the gather
            raise errors.UnavailableError(None, None, f"Could not gather fetches: {e}") from None
        out.update({i: v[0] if whole else v for (i, (_, whole)), v in zip(gather.items(), values)})
        return out

    def _wait_bounded(self, futures, watch=()) -> bool:
        """Wait for ``futures`` to finish or fail, at most the session's timeout: False if it ran out.

        A task whose inputs were lost with a worker may wait forever (``distributed.wait`` does not
        return for it), so the wait is cut in slices that look for lost or cancelled futures among
        ``futures`` and ``watch`` (the variables' futures the run started from).
        """
        import time

        from distributed import wait

        from concurrent.futures import CancelledError  # distributed.FuturesCancelledError derives from it

        deadline = time.monotonic() + self._wait_s
        with self._client.as_current():
            while True:
                try:
                    wait(futures, timeout=max(0.0, min(1.0, deadline - time.monotonic())))
                    return True
                except CancelledError:  # futures the scheduler (or a lost connection) cancelled
                    return self._client.status == "running"
                except TimeoutError:
                    if any(f.status in ("cancelled", "lost") for f in itertools.chain(futures, watch)):
                        return True
                    if self._client.status != "running":  # the scheduler went away: no use waiting on
                        return False
                    if watch and self._lost_keys(watch):
                        return True
                    if time.monotonic() >= deadline:
                        return False

    def _lost_keys(self, futures) -> list:
        """Keys of ``futures`` the scheduler no longer has and is not computing (lost with a worker)."""
        keys = [f.key for f in futures]
        try:
            states = self._client.run_on_scheduler(_task_states, keys)
        except Exception:
            return []
        return [k for k in keys if states.get(k) not in ("memory", "processing")]

    def _stalled_message(self, seg_futs) -> str:
        pending = [f.key for f in seg_futs if f.status == "pending"]
        msg = f"Run did not finish within {self._wait_s:g} s (tasks still pending: {pending[:5]})"
        if self._client.status != "running":
            return msg + f"; the Dask scheduler at {self.target} is unreachable (client {self._client.status})"
        try:
            info = self._client.scheduler_info()
            names = {w.get("name") for w in info["workers"].values()}
        except Exception as e:
            return msg + f"; the Dask scheduler at {self.target} is unreachable: {e}"
        wanted = {h for h in self._var_home.values() if h is not None}
        missing = sorted(str(w) for w in wanted if w not in names)
        if missing:
            msg += f"; no worker named {missing} is connected (start `dask worker --name NAME` for it)"
        return msg

    def _check_connected(self) -> None:
        """UnavailableError unless the client is connected to the scheduler."""
        status = self._client.status
        if status != "running":
            raise errors.UnavailableError(None, None, f"The Dask scheduler at {self.target} is unreachable "
                                          f"(client {status}); restart it and the workers, then a new Session")

    # ---- variables lost with a worker --------------------------------------------------------------
    def _recover(self, names) -> None:
        self._check_connected()
        futs = {n: e[0] for n, e in self._vars.items() if e is not None}  # all that went, not only the first seen
        gone = set(self._lost_keys(list(futs.values())))
        names = sorted(set(names) | {n for n, f in futs.items()
                                     if f.key in gone or f.status in ("lost", "cancelled", "error")})
        for n in names:
            self._vars.pop(n, None)
        rf = self.recover_from
        if rf is None:
            raise errors.AbortedError(
                None, None, f"Variables {names} were lost with their worker "
                f"({sorted({str(self._var_home.get(n)) for n in names})}). Restore them (run their initializers, "
                "or Session.restore_variables(checkpoint_dir)), or set Session.recover_from to a checkpoint "
                "directory written by Session.save_variables to recover automatically.")
        if callable(rf):
            rf(self, list(names))
        else:
            self.restore_variables(rf)

    def _by_home(self) -> dict:
        groups: dict = {}
        for name, home in self._var_home.items():
            groups.setdefault(home, []).append(name)
        return groups

    def save_variables(self, directory: str) -> str:
        """Write every variable's value to ``directory`` (any fsspec URL), each worker its own file.

        The values are written by the workers that hold them (``<directory>/<worker>.npz``, then
        renamed into place), never gathered to the client. Returns ``directory``.
        """
        from .distributed import _save_on_worker

        futs = []
        for home, names in self._by_home().items():
            names = [n for n in names if n in self._vars]
            kw = {"workers": [home], "allow_other_workers": False} if home else {}
            path = f"{directory.rstrip('/')}/{home or 'any'}.npz"
            entries = [self._vars[n] for n in names]
            futs.append(self._client.submit(_save_on_worker, path, names, [j for _, j in entries],
                                            *[f for f, _ in entries], pure=False, **kw))
        self._wait_all(futs, "save_variables")
        return directory

    def restore_variables(self, directory: str) -> None:
        """Load the variables saved by :meth:`save_variables`, each on the worker that owns it."""
        from .distributed import _load_on_worker

        new, futs = {}, []
        for home, names in self._by_home().items():
            kw = {"workers": [home], "allow_other_workers": False} if home else {}
            path = f"{directory.rstrip('/')}/{home or 'any'}.npz"
            f = self._client.submit(_load_on_worker, path, names, pure=False, **kw)
            futs.append(f)
            new.update((n, (f, j)) for j, n in enumerate(names))  # indexes into the loaded tuple
        self._wait_all(futs, "restore_variables")
        self._vars.update(new)

    def _wait_all(self, futs, what: str) -> None:
        if not self._wait_bounded(futs):
            raise errors.UnavailableError(None, None, f"{what} did not finish within {self._wait_s:g} s")
        for f in futs:
            if f.status == "error":
                exc = f.exception()
                raise exc if isinstance(exc, errors.OpError) else errors.UnknownError(None, None, f"{what}: {exc}")

    def close(self) -> None:
        """Release the variables' futures and the workers' cached segments; close an owned client."""
        if self._closed:
            return
        super().close()
        self._vars.clear()
        self._held = []
        self._lazy = []
        client = self._client
        if client.status == "running":
            client.unsubscribe_topic(self._topic)
            from .distributed import _forget

            try:
                client.run(_forget, self._id, list(self._plan_keys), wait=True)
            except Exception:  # a worker gone: nothing of ours is left there
                pass
            from .distributed import _plan_path

            try:  # the plans' descriptions (DistributedPlan: the scheduler's metadata)
                client.set_metadata(_plan_path(self._id), None)
            except Exception:  # noqa: BLE001 - the scheduler gone: so are they
                pass
        if self._owns_client:
            client.close(timeout=min(self._wait_s, 10))


class DistributedInteractiveSession(InteractiveSession, DistributedSession):
    """``tf.InteractiveSession(target)``: a cluster session that makes itself, and its graph, the defaults.

    As ``tf.InteractiveSession()`` does locally (``t.eval()`` and ``op.run()`` then use it) until
    :meth:`close`.
    """


def _task_states(keys, dask_scheduler=None) -> dict:
    """Run on the scheduler: the state of each key's task (absent if forgotten)."""
    tasks = dask_scheduler.tasks
    return {k: tasks[k].state for k in keys if k in tasks}
