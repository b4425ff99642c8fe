"""``tf.train.ClusterSpec`` and ``tf.train.Server`` on dask.distributed.

A ClusterSpec names the tasks of each job, as in TF. A :class:`Server` for task ``(job, i)`` is a Dask
worker process named ``f"{job}-{i}"`` listening on the task's address and connected to the cluster's
scheduler -- the task 0 of a job named ``"scheduler"`` in the spec, or ``scheduler=`` -- or, for the
``scheduler`` job itself, the scheduler process. ``server.target`` is the scheduler's address, so
``tf.Session(server.target)`` runs on the cluster, and ``/job:ps/task:0`` ops on the worker ``ps-0``.

Examples
--------
>>> spec = tf.train.ClusterSpec({"scheduler": ["127.0.0.1:8786"], "ps": ["127.0.0.1:2222"],
...                              "worker": ["127.0.0.1:2223", "127.0.0.1:2224"]})
>>> spec.num_tasks("worker")
2
>>> server = tf.train.Server(spec, job_name="ps", task_index=0)   # doctest: +SKIP
"""

from __future__ import annotations

import atexit
import subprocess

__all__ = ["ClusterSpec", "Server"]


class ClusterSpec:
    """The jobs of a cluster and their tasks' addresses (TF's ``tf.train.ClusterSpec``).

    Parameters
    ----------
    cluster : dict or ClusterSpec
        ``{job: [address, ...]}`` (task i is the i-th address) or ``{job: {index: address}}``.
    """

    def __init__(self, cluster):
        if isinstance(cluster, ClusterSpec):
            self._spec = {job: dict(tasks) for job, tasks in cluster._spec.items()}
            return
        if not isinstance(cluster, dict):
            raise TypeError("`cluster` must be a dictionary mapping one or more job names to lists of network "
                            "addresses, or a `ClusterSpec`.")
        self._spec = {}
        for job, tasks in cluster.items():
            if not isinstance(job, str):
                raise TypeError(f"Job name must be a string, got {job!r}")
            if isinstance(tasks, (list, tuple)):
                self._spec[job] = dict(enumerate(tasks))
            elif isinstance(tasks, dict):
                if not all(isinstance(i, int) for i in tasks):
                    raise TypeError(f"Task indices in job {job!r} must be integers")
                self._spec[job] = dict(tasks)
            else:
                raise TypeError(f"The tasks for job {job!r} must be a list or a dictionary from integers to "
                                f"addresses, got {type(tasks).__name__}")

    def as_dict(self) -> dict:
        """``{job: [addresses]}``, or ``{job: {index: address}}`` for a job whose indices have gaps."""
        out = {}
        for job, tasks in self._spec.items():
            idx = sorted(tasks)
            out[job] = [tasks[i] for i in idx] if idx == list(range(len(idx))) else dict(tasks)
        return out

    @property
    def jobs(self) -> list[str]:
        return list(self._spec)

    def _job(self, job_name):
        try:
            return self._spec[job_name]
        except KeyError:
            raise ValueError(f"No such job in cluster: {job_name!r}") from None

    def num_tasks(self, job_name: str) -> int:
        return len(self._job(job_name))

    def task_indices(self, job_name: str) -> list[int]:
        return sorted(self._job(job_name))

    def task_address(self, job_name: str, task_index: int) -> str:
        tasks = self._job(job_name)
        try:
            return tasks[task_index]
        except KeyError:
            raise ValueError(f"No task with index {task_index!r} in job {job_name!r}") from None

    def job_tasks(self, job_name: str) -> list:
        """Addresses of the job's tasks by index, None where an index has no task."""
        tasks = self._job(job_name)
        return [tasks.get(i) for i in range(max(tasks) + 1)] if tasks else []

    def worker_names(self) -> list[str]:
        """The Dask worker names of the spec's tasks (``ps-0``, ``worker-1``), scheduler excluded."""
        return [f"{job}-{i}" for job, tasks in self._spec.items() if job != "scheduler" for i in sorted(tasks)]

    def __bool__(self):
        return bool(self._spec)

    def __eq__(self, other):
        return isinstance(other, ClusterSpec) and self._spec == other._spec

    def __ne__(self, other):
        return not self == other

    def __repr__(self):
        return f"ClusterSpec({self.as_dict()!r})"


def _address(addr: str, protocol: str) -> str:
    return addr if "://" in addr else f"{protocol}://{addr}"


class Server:
    """An in-cluster task (TF's ``tf.train.Server``): a ``dask worker`` (or ``dask scheduler``) process.

    Parameters
    ----------
    server_or_cluster_def : ClusterSpec or dict
        The cluster.
    job_name, task_index : str, int
        This task; the worker is named ``f"{job_name}-{task_index}"``.
    protocol : str
        ``"tcp"`` (``"grpc"`` is taken as tcp) or ``"tls"`` (give ``security``).
    start : bool
        Start the process now.
    scheduler : str, optional
        The scheduler's address when the spec has no ``scheduler`` job.
    security : distributed.Security, optional
        For TLS: its CA, certificate and key files are passed to the process.
    resources : dict, optional
        Worker resources (``{"GPU": 1}`` for a task with a GPU).
    """

    def __init__(self, server_or_cluster_def, job_name: str | None = None, task_index: int | None = None,
                 protocol: str | None = None, config=None, start: bool = True, scheduler: str | None = None,
                 security=None, resources: dict | None = None):
        self.cluster_spec = ClusterSpec(server_or_cluster_def)
        jobs = self.cluster_spec.jobs
        if job_name is None:
            if len(jobs) != 1:
                raise ValueError("Must specify an explicit `job_name` when the cluster has several jobs")
            job_name = jobs[0]
        self.job_name = job_name
        self.task_index = 0 if task_index is None else task_index
        self._protocol = "tls" if (protocol == "tls" or security is not None) else "tcp"
        self._security = security
        self._resources = resources or {}
        self.address = self.cluster_spec.task_address(job_name, self.task_index)
        if scheduler is None:
            if "scheduler" not in jobs:
                raise ValueError("The cluster needs a 'scheduler' job (or pass scheduler=ADDRESS)")
            scheduler = self.cluster_spec.task_address("scheduler", 0)
        self._scheduler = _address(scheduler, self._protocol)
        self._process: subprocess.Popen | None = None
        if start:
            self.start()

    @property
    def target(self) -> str:
        """The scheduler's address: ``tf.Session(server.target)``."""
        return self._scheduler

    @property
    def server_def(self) -> dict:
        return {"cluster": self.cluster_spec.as_dict(), "job_name": self.job_name, "task_index": self.task_index,
                "protocol": self._protocol}

    def _args(self) -> list[str]:
        from ..cluster import _dask_cli

        host, _, port = self.address.rpartition(":")
        sec = self._security
        tls = [] if sec is None else ["--tls-ca-file", sec.tls_ca_file, "--tls-cert", sec.tls_worker_cert,
                                      "--tls-key", sec.tls_worker_key]
        if self.job_name == "scheduler":
            return _dask_cli() + ["scheduler", "--host", f"{self._protocol}://{host}" if sec else host,
                                  "--port", port, "--no-dashboard"] + tls
        args = _dask_cli() + ["worker", self._scheduler, "--name", f"{self.job_name}-{self.task_index}",
                              "--host", host, "--worker-port", port, "--nthreads", "1", "--no-dashboard"] + tls
        for k, v in self._resources.items():
            args += ["--resources", f"{k}={v}"]
        return args

    def start(self) -> None:
        """Start the task's process (once)."""
        if self._process is not None and self._process.poll() is None:
            return
        self._process = subprocess.Popen(self._args(), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                         start_new_session=True)
        atexit.register(self.stop)

    def join(self) -> None:
        """Block until the task's process exits."""
        if self._process is not None:
            self._process.wait()

    def stop(self) -> None:
        """Stop the task's process (not in TF's API, which has no way to stop a server)."""
        p = self._process
        if p is not None and p.poll() is None:
            p.terminate()
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()

    @staticmethod
    def create_local_server(config=None, start: bool = True) -> "Server":
        """A scheduler and one worker (``localhost-0``) on free local ports; ``target`` is the scheduler."""
        from ..cluster import ProcessCluster

        cluster = ProcessCluster(localhost=1)
        server = Server({"scheduler": [cluster.target.split("://")[1]], "localhost": ["127.0.0.1:0"]},
                        "localhost", 0, start=False)
        server._cluster = cluster
        server.stop = cluster.close
        atexit.register(cluster.close)
        return server
