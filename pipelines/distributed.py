"""Reading and parsing shards on a dask.distributed cluster, streaming the batches back as a Dataset.

``dask_dataset(client, filenames, make_dataset)`` is a :class:`~pipelines.datasets.Dataset` whose
elements come from the cluster: each task runs ``make_dataset(files)`` on a worker, for one group of
``files_per_task`` shards (so records are read where the task runs, never shipped to the client),
iterates it there, and returns its elements (usually parsed batches: a pipeline like
``TFRecordDataset(files).batch(128).map(parse)``). The client keeps ``max_in_flight`` tasks running
and yields each finished task's elements, in task order (``ordered=True``) or as tasks complete.

``make_dataset`` must be picklable by Dask (a module-level function, or a function cloudpickle can ship);
it is also called once locally, to learn the element structure (that builds a graph, reads nothing).
Use the result like any dataset: ``.prefetch``, iterators, ``get_next`` in the training graph.

Examples
--------
>>> from distributed import Client                                    # doctest: +SKIP
>>> def make(files):                                                  # doctest: +SKIP
...     return tf.data.TFRecordDataset(files).batch(128).map(parse)
>>> ds = tf.data.dask_dataset(Client(), "data/train-*.tfrecord", make) # doctest: +SKIP
>>> images, labels = ds.prefetch(2).make_one_shot_iterator().get_next()  # doctest: +SKIP
"""

from __future__ import annotations

import collections

from .datasets import Dataset
from .files import expand


def _run_on_worker(make_dataset, files):
    """On a worker: build the dataset in a fresh graph and return all its flat elements."""
    import dataflow as tf

    with tf.Graph().as_default():
        ds = make_dataset(files)
        from .datasets import _evaluate

        return list(ds._iterate(_evaluate(ds._captured())))


class DaskDataset(Dataset):
    def __init__(self, client, filenames, make_dataset, files_per_task=1, max_in_flight=None, ordered=True,
                 repeat=False):
        import dataflow as tf

        self._client = client
        self._files = expand(filenames)
        if not self._files:
            raise ValueError("dask_dataset needs at least one file")
        self._make = make_dataset
        self._per_task = max(1, int(files_per_task))
        workers = len(client.scheduler_info().get("workers", {})) or 1
        self._in_flight = max_in_flight or 2 * workers
        self._ordered = ordered
        self._repeat = repeat
        with tf.Graph().as_default():
            self.structure = make_dataset(self._files[:1]).structure

    def _groups(self):
        while True:
            for i in range(0, len(self._files), self._per_task):
                yield self._files[i:i + self._per_task]
            if not self._repeat:
                return

    def _iterate(self, values):
        from distributed import wait

        groups = self._groups()
        pending: collections.deque = collections.deque()

        def submit():
            group = next(groups, None)
            if group is not None:
                pending.append(self._client.submit(_run_on_worker, self._make, group, pure=False))

        try:
            for _ in range(self._in_flight):
                submit()
            while pending:
                if self._ordered:
                    fut = pending.popleft()
                else:
                    done = wait(list(pending), return_when="FIRST_COMPLETED").done
                    fut = next(f for f in pending if f in done)
                    pending.remove(fut)
                elements = fut.result()
                submit()
                yield from elements
        finally:
            for f in pending:
                try:
                    f.cancel()
                except Exception:  # noqa: BLE001 (the client closed first: nothing left to cancel)
                    pass


def dask_dataset(client, filenames, make_dataset, files_per_task=1, max_in_flight=None, ordered=True,
                 repeat=False) -> Dataset:
    """A Dataset of the elements ``make_dataset(files)`` gives on the workers of ``client``.

    Parameters
    ----------
    client : distributed.Client
        The cluster to read on.
    filenames : str or list of str
        Shard paths, URLs or globs (every worker must be able to open them: shared disk, s3://...).
    make_dataset : callable
        ``make_dataset(list_of_files) -> Dataset``, run on a worker per task.
    files_per_task : int
        Shards per task.
    max_in_flight : int, optional
        Tasks running at once (default twice the workers).
    ordered : bool
        Yield tasks' elements in file order (default) or as tasks finish.
    repeat : bool
        Go over the files again and again (an endless dataset).

    Returns
    -------
    Dataset
        Elements with ``make_dataset``'s structure.
    """
    return DaskDataset(client, filenames, make_dataset, files_per_task, max_in_flight, ordered, repeat)
