"""``tf.train.QueueRunner``: threads that run a queue's enqueue ops until the input is exhausted.

Each enqueue op gets one thread running it in a loop. An OutOfRangeError or CancelledError from the
enqueue (the producer ran out of epochs, the queue or the session closed) ends that thread quietly;
when the last thread of a runner ends, it runs ``close_op`` so that dequeuers drain what is left and
then see OutOfRangeError. Any other error closes the queue with ``cancel_op`` and is reported to the
Coordinator (re-raised by ``coord.join``) or, without one, kept in ``exceptions_raised``.
"""

from __future__ import annotations

import threading

from ..framework import errors
from ..framework.graph import GraphKeys, add_to_collection


class QueueRunner:
    """Runs ``enqueue_ops`` of ``queue`` in threads.

    Parameters
    ----------
    queue : QueueBase
        The queue the ops fill.
    enqueue_ops : list of Operation
        One thread runs each op (repeat an op to run it from several threads).
    close_op, cancel_op : Operation, optional
        Default: ``queue.close()`` and ``queue.close(cancel_pending_enqueues=True)``.
    queue_closed_exception_types : tuple of type, optional
        Errors that mean "done" (default OutOfRangeError, CancelledError).
    """

    def __init__(self, queue=None, enqueue_ops=None, close_op=None, cancel_op=None,
                 queue_closed_exception_types=None, queue_runner_def=None, import_scope=None):
        if queue is None or not enqueue_ops:
            raise ValueError("Either queue_runner_def or (queue and enqueue_ops) must be specified.")
        self._queue = queue
        self._enqueue_ops = list(enqueue_ops)
        self._close_op = close_op if close_op is not None else queue.close()
        self._cancel_op = cancel_op if cancel_op is not None else queue.close(cancel_pending_enqueues=True)
        self._queue_closed_exception_types = tuple(queue_closed_exception_types or
                                                   (errors.OutOfRangeError, errors.CancelledError))
        self._lock = threading.Lock()
        self._runs_per_session: dict = {}
        self._exceptions_raised: list = []

    @property
    def queue(self):
        return self._queue

    @property
    def enqueue_ops(self):
        return self._enqueue_ops

    @property
    def close_op(self):
        return self._close_op

    @property
    def cancel_op(self):
        return self._cancel_op

    @property
    def name(self) -> str:
        return self._queue.name

    @property
    def exceptions_raised(self) -> list:
        """Exceptions raised by the threads when there was no coordinator to report them to."""
        return self._exceptions_raised

    def _run(self, sess, enqueue_op, coord=None):
        decremented = False
        try:
            while True:
                if coord is not None and coord.should_stop():
                    break
                try:
                    sess.run(enqueue_op)
                except self._queue_closed_exception_types:
                    with self._lock:
                        self._runs_per_session[sess] -= 1
                        decremented = True
                        if self._runs_per_session[sess] == 0:
                            try:
                                sess.run(self._close_op)
                            except Exception:  # noqa: BLE001 (the session may be closing: nothing to close)
                                pass
                    return
        except Exception as e:  # noqa: BLE001 (reported to the coordinator, as TF does)
            if getattr(sess, "_closed", False):
                return  # the session closed under the thread: nothing to report
            if coord is not None:
                coord.request_stop(e)
            else:
                with self._lock:
                    self._exceptions_raised.append(e)
        finally:
            if not decremented:
                with self._lock:
                    self._runs_per_session[sess] -= 1

    def _close_on_stop(self, sess, coord):
        coord.wait_for_stop()
        try:
            sess.run(self._cancel_op)
        except Exception:  # noqa: BLE001 (a closed session has nothing left to cancel)
            pass

    def create_threads(self, sess, coord=None, daemon=False, start=False) -> list:
        """Threads running the enqueue ops in ``sess`` (and one closing the queue when ``coord``
        stops); started when ``start``. No new threads while earlier ones still run in ``sess``."""
        with self._lock:
            if self._runs_per_session.get(sess, 0) > 0:
                return []
            self._runs_per_session[sess] = len(self._enqueue_ops)
            self._exceptions_raised = []
        threads = [threading.Thread(target=self._run, args=(sess, op, coord), daemon=daemon,
                                    name=f"QueueRunnerThread-{self.name}-{op.name}") for op in self._enqueue_ops]
        if coord is not None:
            threads.append(threading.Thread(target=self._close_on_stop, args=(sess, coord), daemon=True,
                                            name=f"QueueRunnerCloser-{self.name}"))
        for t in threads:
            if coord is not None:
                coord.register_thread(t)
            if start:
                t.start()
        return threads


def add_queue_runner(qr: QueueRunner, collection=GraphKeys.QUEUE_RUNNERS) -> None:
    """Add ``qr`` to the graph's queue-runner collection (started by :func:`start_queue_runners`)."""
    add_to_collection(collection, qr)


def start_queue_runners(sess=None, coord=None, daemon=True, start=True, collection=GraphKeys.QUEUE_RUNNERS) -> list:
    """Start the threads of every QueueRunner in the graph's collection; returns the threads.

    Examples
    --------
    >>> import dataflow as tf
    >>> q = tf.FIFOQueue(10, tf.int32)
    >>> tf.train.add_queue_runner(tf.train.QueueRunner(q, [q.enqueue(7)]))
    >>> sess = tf.Session(); coord = tf.train.Coordinator()
    >>> threads = tf.train.start_queue_runners(sess, coord)
    >>> int(sess.run(q.dequeue()))
    7
    >>> coord.request_stop(); coord.join(threads); sess.close()
    """
    from ..runtime.session import get_default_session

    sess = sess or get_default_session()
    if sess is None:
        raise ValueError("Cannot start queue runners: No default session is registered. Use `with "
                         "sess.as_default()` or pass an explicit session to tf.start_queue_runners(sess=sess)")
    graph = sess.graph
    threads = []
    for qr in graph.get_collection(collection):
        threads.extend(qr.create_threads(sess, coord=coord, daemon=daemon, start=start))
    return threads
