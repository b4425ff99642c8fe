"""Local dask.distributed clusters for experiments: TF jobs as named Dask workers.

A TF cluster is jobs of tasks (``{"ps": 1, "worker": 2}``); here each task is a Dask worker named
``f"{job}-{task}"`` (``ps-0``, ``worker-0``, ``worker-1``), which is how ``/job:ps/task:0`` finds its
worker. Two helpers start one:

- :class:`LocalCluster`: scheduler and workers in this process (threads; quick, for notebooks).
- :class:`ProcessCluster`: ``dask scheduler`` and one ``dask worker --name ... --nthreads 1`` process
  per task on 127.0.0.1 with free ports (no nanny, so a killed worker stays dead until
  :meth:`ProcessCluster.start_worker` starts it again); optionally over TLS with a self-signed
  certificate (:func:`self_signed_tls`).

Both have ``target`` (the scheduler's address, for ``tf.Session(target)``) and ``security``.

Examples
--------
>>> from dataflow.cluster import LocalCluster
>>> with LocalCluster(ps=1, worker=2) as cluster:          # doctest: +SKIP
...     sess = tf.Session(cluster.target)
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

__all__ = ["LocalCluster", "ProcessCluster", "self_signed_tls", "task_names"]


def task_names(jobs: dict) -> list[str]:
    """Worker names for ``{"ps": 1, "worker": 2}``: ``["ps-0", "worker-0", "worker-1"]``."""
    return [f"{job}-{i}" for job, n in jobs.items() for i in range(n)]


class LocalCluster:
    """A scheduler and named workers in this process (``distributed.SpecCluster``).

    Parameters
    ----------
    gpus : dict, optional
        ``{"worker-0": 1}``: workers given the resource ``GPU`` (for ``/device:GPU:0`` ops).
    dashboard : bool
        Serve the Dask dashboard on a free port (``Session.dashboard_link``).
    **jobs : int
        Tasks per job: ``LocalCluster(ps=1, worker=2)``.
    """

    def __init__(self, gpus: dict | None = None, dashboard: bool = False, **jobs):
        from distributed import Scheduler, SpecCluster, Worker

        jobs = jobs or {"worker": 1}
        gpus = gpus or {}
        workers = {name: {"cls": Worker, "options": {"nthreads": 1, "name": name,
                                                      "resources": {"GPU": gpus[name]} if name in gpus else None}}
                   for name in task_names(jobs)}
        scheduler = {"cls": Scheduler, "options": {"dashboard_address": ":0" if dashboard else None,
                                                   "dashboard": dashboard}}
        self._cluster = SpecCluster(workers=workers, scheduler=scheduler, asynchronous=False, silence_logs=40)
        self.security = None

    @property
    def target(self) -> str:
        return self._cluster.scheduler_address

    def client(self):
        from distributed import Client

        return Client(self._cluster, set_as_default=False)

    def close(self) -> None:
        self._cluster.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


def self_signed_tls(directory: str):
    """A ``distributed.Security`` for a TLS cluster, with a self-signed certificate written to ``directory``.

    The same certificate serves as CA, scheduler, worker and client certificate (enough for tests and
    experiments on one machine; a real cluster uses certificates from its own CA).
    """
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import NameOID
    from distributed import Security

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "dataflow-test")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=1))
            .not_valid_after(now + datetime.timedelta(days=7))
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_file, key_file = os.path.join(directory, "cert.pem"), os.path.join(directory, "key.pem")
    with open(cert_file, "wb") as f:
        f.write(cert.public_bytes(serialization.Encoding.PEM))
    with open(key_file, "wb") as f:
        f.write(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                  serialization.NoEncryption()))
    return Security(tls_ca_file=cert_file, tls_client_cert=cert_file, tls_client_key=key_file,
                    tls_scheduler_cert=cert_file, tls_scheduler_key=key_file, tls_worker_cert=cert_file,
                    tls_worker_key=key_file, require_encryption=True)


def _dask_cli() -> list[str]:
    exe = shutil.which("dask", path=os.path.dirname(sys.executable)) or shutil.which("dask")
    return [exe] if exe else [sys.executable, "-m", "dask"]


class ProcessCluster:
    """``dask scheduler`` and one ``dask worker --name JOB-TASK`` process per task, on 127.0.0.1.

    Parameters
    ----------
    tls : bool
        Serve ``tls://`` with a self-signed certificate (``security`` is the client's Security).
    gpus : dict, optional
        ``{"worker-0": 1}``: ``--resources GPU=n`` for those workers.
    env : dict, optional
        Extra environment for the processes (``PYTHONPATH`` so workers import what tasks need).
    timeout : float
        Seconds to wait for the scheduler and workers to come up.
    **jobs : int
        Tasks per job: ``ProcessCluster(ps=1, worker=2)``.
    """

    def __init__(self, tls: bool = False, gpus: dict | None = None, env: dict | None = None,
                 timeout: float = 60.0, dashboard: bool = False, **jobs):
        self._dir = tempfile.mkdtemp(prefix="dataflow-cluster-")
        self._gpus = gpus or {}
        self._timeout = timeout
        self._env = dict(os.environ, **(env or {}))
        self._env.setdefault("OMP_NUM_THREADS", "1")
        self.security = self_signed_tls(self._dir) if tls else None
        self._tls_args = [] if not tls else ["--tls-ca-file", self.security.tls_ca_file, "--tls-cert",
                                             self.security.tls_worker_cert, "--tls-key", self.security.tls_worker_key]
        self.workers: dict[str, subprocess.Popen] = {}
        sched_file = os.path.join(self._dir, "scheduler.json")
        proto = "tls://" if tls else ""
        args = _dask_cli() + ["scheduler", "--host", f"{proto}127.0.0.1", "--port", "0", "--scheduler-file",
                              sched_file] + self._tls_args
        args += ["--dashboard-address", "127.0.0.1:0"] if dashboard else ["--no-dashboard"]
        self.scheduler = self._spawn(args, "scheduler")
        self.target = self._read_address(sched_file)
        try:
            for name in task_names(jobs or {"worker": 1}):
                self.start_worker(name, wait=False)
            self.wait_for_workers(list(self.workers))
        except BaseException:
            self.close()
            raise

    def _spawn(self, args, name):
        log = open(os.path.join(self._dir, f"{name}.log"), "ab")
        return subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, env=self._env,
                                start_new_session=True)

    def _read_address(self, path: str) -> str:
        import json

        deadline = time.monotonic() + self._timeout
        while time.monotonic() < deadline:
            if self.scheduler.poll() is not None:
                raise RuntimeError(f"dask scheduler exited: {self.log('scheduler')}")
            try:
                with open(path) as f:
                    return json.load(f)["address"]
            except (FileNotFoundError, ValueError, KeyError):
                time.sleep(0.05)
        raise TimeoutError(f"dask scheduler did not start in {self._timeout} s")

    def log(self, name: str) -> str:
        """What the process ``name`` (``"scheduler"``, ``"ps-0"``) printed."""
        try:
            with open(os.path.join(self._dir, f"{name}.log"), errors="replace") as f:
                return f.read()
        except FileNotFoundError:
            return ""

    def start_worker(self, name: str, wait: bool = True) -> None:
        """Start (or restart) the worker ``name`` (``"ps-0"``): ``--nthreads 1``, no nanny."""
        args = _dask_cli() + ["worker", self.target, "--name", name, "--nthreads", "1", "--no-nanny",
                              "--host", "127.0.0.1", "--no-dashboard", "--death-timeout", "30"] + self._tls_args
        if name in self._gpus:
            args += ["--resources", f"GPU={self._gpus[name]}"]
        self.workers[name] = self._spawn(args, name)
        if wait:
            self.wait_for_workers([name])

    def kill_worker(self, name: str) -> None:
        """SIGKILL the worker ``name`` (its memory, variables included, is lost)."""
        p = self.workers.pop(name)
        p.send_signal(signal.SIGKILL)
        p.wait(timeout=10)

    def wait_for_workers(self, names) -> None:
        from distributed import Client

        deadline = time.monotonic() + self._timeout
        with Client(self.target, security=self.security, timeout=self._timeout, set_as_default=False) as c:
            while time.monotonic() < deadline:
                present = {w.get("name") for w in c.scheduler_info(n_workers=-1)["workers"].values()}
                if set(names) <= present:
                    return
                dead = [n for n in names if n in self.workers and self.workers[n].poll() is not None]
                if dead:
                    raise RuntimeError(f"dask worker {dead[0]} exited: {self.log(dead[0])}")
                time.sleep(0.05)
        raise TimeoutError(f"workers {names} did not connect in {self._timeout} s")

    def close(self) -> None:
        """Stop every process (workers first) and remove the temporary directory."""
        for p in list(self.workers.values()) + [self.scheduler]:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in list(self.workers.values()) + [self.scheduler]:
            try:
                p.wait(timeout=3)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        self.workers.clear()
        shutil.rmtree(self._dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
