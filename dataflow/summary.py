"""``tf.summary``: summary ops and :class:`FileWriter`, which writes TensorBoard event files.

The ops (``scalar``, ``histogram``, ``image``, ``audio``, ``text``, ``tensor_summary``, ``merge``,
``merge_all``) live in :mod:`dataflow.ops.summary_ops`; each yields a serialized ``Summary`` that
``sess.run`` returns as bytes, to hand to :meth:`FileWriter.add_summary`.

A :class:`FileWriter` appends ``Event`` protos to ``logdir/events.out.tfevents.<time>.<host>...`` with
TensorBoard's own writer (``tensorboard.summary.writer.event_file_writer``: TFRecord framing with masked
crc32c, a background thread flushing every ``flush_secs``), so any fsspec URL works as ``logdir``
(``memory://``, ``s3://``...). ``graph=`` (or :meth:`FileWriter.add_graph`) writes the graph as a
``GraphDef`` for TensorBoard's graph tab; as TF, a summary's metadata (plugin data) is written only the
first time its tag is seen.

Examples
--------
>>> import dataflow as tf
>>> loss = tf.placeholder(tf.float32, [])
>>> tf.summary.scalar("loss", loss)                          # doctest: +SKIP
>>> merged = tf.summary.merge_all()                          # doctest: +SKIP
>>> with tf.Session() as sess, tf.summary.FileWriter("/tmp/logs", sess.graph) as writer:  # doctest: +SKIP
...     writer.add_summary(sess.run(merged, {loss: 0.5}), global_step=1)
"""

from __future__ import annotations

import threading
import time

from .ops.summary_ops import audio, histogram, image, merge, merge_all, scalar, tensor_summary, text

__all__ = ["FileWriter", "FileWriterCache", "audio", "histogram", "image", "merge", "merge_all", "scalar",
           "tensor_summary", "text", "Summary", "Event", "SessionLog", "SummaryDescription",
           "TaggedRunMetadata"]


def _protos():
    try:
        from tensorboard.compat.proto import config_pb2, event_pb2, summary_pb2
    except ImportError as e:
        raise ImportError(f"Summaries need the tensorboard package: pip install tensorboard ({e})") from None
    return config_pb2, event_pb2, summary_pb2


_PROTO_CLASSES = {"Summary": 2, "SummaryDescription": 2, "Event": 1, "SessionLog": 1, "TaggedRunMetadata": 1}


def __getattr__(name):  # TF's proto classes as tf.summary.Summary ..., imported on first use
    if name not in _PROTO_CLASSES:
        raise AttributeError(f"module 'dataflow.summary' has no attribute {name!r}")
    return getattr(_protos()[_PROTO_CLASSES[name]], name)


def _run_metadata_proto(run_metadata):
    """A ``RunMetadata`` proto of ours (``dataflow.RunMetadata``: step_stats, partition_graphs) or TF's."""
    if hasattr(run_metadata, "SerializeToString"):
        return run_metadata
    config_pb2 = _protos()[0]
    out = config_pb2.RunMetadata()
    stats = getattr(run_metadata, "step_stats", None)
    for dev in getattr(stats, "dev_stats", None) or []:
        d = out.step_stats.dev_stats.add(device=dev.device)
        for n in dev.node_stats:
            d.node_stats.add(node_name=n.node_name, all_start_micros=n.all_start_micros,
                             op_start_rel_micros=n.op_start_rel_micros, op_end_rel_micros=n.op_end_rel_micros,
                             all_end_rel_micros=n.all_end_rel_micros, timeline_label=n.timeline_label,
                             thread_id=n.thread_id & 0xFFFFFFFF)  # a uint32 in the proto
    for g in getattr(run_metadata, "partition_graphs", None) or []:
        out.partition_graphs.add().CopyFrom(g)
    return out


class FileWriter:
    """Writes ``Summary`` protos and events to an event file in ``logdir`` (``tf.summary.FileWriter``).

    Parameters
    ----------
    logdir : str
        Folder (local path or fsspec URL) for the event file; made if missing.
    graph : Graph, optional
        A graph to write at once (TensorBoard's graph tab).
    max_queue : int
        Events queued before a write.
    flush_secs : float
        How often pending events are flushed.
    graph_def : GraphDef, optional
        A GraphDef to write instead of ``graph``.
    filename_suffix : str, optional
        Appended to the event file's name.
    """

    def __init__(self, logdir, graph=None, max_queue=10, flush_secs=120, graph_def=None, filename_suffix=None,
                 session=None):
        self._logdir = str(logdir)
        self._max_queue, self._flush_secs, self._suffix = max_queue, flush_secs, filename_suffix or ""
        self._seen_tags: set = set()
        self._writer = None
        self.reopen()
        if graph is not None or graph_def is not None:
            self.add_graph(graph, graph_def=graph_def)

    def reopen(self) -> None:
        """Open a new event file after :meth:`close` (does nothing if open)."""
        if self._writer is None:
            from tensorboard.summary.writer.event_file_writer import EventFileWriter

            self._writer = EventFileWriter(self._logdir, self._max_queue, self._flush_secs, self._suffix)

    def get_logdir(self) -> str:
        return self._logdir

    def add_event(self, event) -> None:
        """Write an ``Event`` proto as it is."""
        if self._writer is None:
            raise RuntimeError("The FileWriter is closed; call reopen() first.")
        self._writer.add_event(event)

    def _event(self, global_step=None, **fields):
        event = _protos()[1].Event(wall_time=time.time(), **fields)
        if global_step is not None:
            event.step = int(global_step)
        self.add_event(event)

    def add_summary(self, summary, global_step=None) -> None:
        """Write a ``Summary`` (a proto, or the bytes a summary op returned) at ``global_step``."""
        summary_pb2 = _protos()[2]
        if isinstance(summary, bytes) or hasattr(summary, "item"):
            summary = summary_pb2.Summary.FromString(summary.item() if hasattr(summary, "item") else summary)
        else:
            copy = summary_pb2.Summary()
            copy.CopyFrom(summary)
            summary = copy
        for value in summary.value:  # as TF: plugin metadata only the first time a tag is written
            if value.HasField("metadata"):
                if value.tag in self._seen_tags:
                    value.ClearField("metadata")
                else:
                    self._seen_tags.add(value.tag)
        self._event(global_step, summary=summary)

    def add_session_log(self, session_log, global_step=None) -> None:
        self._event(global_step, session_log=session_log)

    def add_graph(self, graph, global_step=None, graph_def=None) -> None:
        """Write ``graph`` (or ``graph_def``) as a ``GraphDef`` event."""
        if graph is not None and graph_def is not None:
            raise ValueError("Please pass only graph, or graph_def (deprecated), but not both.")
        if graph is not None:
            graph_def = graph.as_graph_def(add_shapes=True)
        if graph_def is None:
            raise TypeError("add_graph needs a graph or a graph_def")
        self._event(global_step, graph_def=graph_def.SerializeToString())

    def add_meta_graph(self, meta_graph_def, global_step=None) -> None:
        self._event(global_step, meta_graph_def=meta_graph_def.SerializeToString())

    def add_run_metadata(self, run_metadata, tag, global_step=None) -> None:
        """Write a run's ``RunMetadata`` (step stats of a traced run) under ``tag``."""
        tagged = _protos()[1].TaggedRunMetadata(tag=tag, run_metadata=_run_metadata_proto(run_metadata)
                                                .SerializeToString())
        self._event(global_step, tagged_run_metadata=tagged)

    def flush(self) -> None:
        """Write every pending event to the file."""
        if self._writer is not None:
            self._writer.flush()

    def close(self) -> None:
        """Flush and close the event file."""
        if self._writer is not None:
            self._writer.close()
            self._writer = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class FileWriterCache:
    """One :class:`FileWriter` per logdir (``tf.summary.FileWriterCache``)."""

    _cache: dict = {}
    _lock = threading.RLock()

    @staticmethod
    def get(logdir) -> FileWriter:
        with FileWriterCache._lock:
            if logdir not in FileWriterCache._cache:
                FileWriterCache._cache[logdir] = FileWriter(logdir)
            return FileWriterCache._cache[logdir]

    @staticmethod
    def clear() -> None:
        with FileWriterCache._lock:
            for writer in FileWriterCache._cache.values():
                writer.close()
            FileWriterCache._cache.clear()
