"""Run tracing: ``RunOptions(trace_level=FULL_TRACE)`` fills ``RunMetadata.step_stats`` as TF does.

A traced run uses its own plan whose bound kernels are wrapped by :class:`Tracer`, which logs each
op's start and end (``time.perf_counter_ns``); untraced runs pay nothing. The stats mirror TF's
StepStats proto (``dev_stats[i].node_stats[j].node_name``, ``all_start_micros``, ``op_end_rel_micros``
...), so ``dataflow.client.timeline.Timeline(step_stats)`` can write a Chrome trace.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

_EPOCH_NS = time.time_ns() - time.perf_counter_ns()  # perf_counter -> wall clock


@dataclass
class NodeExecStats:
    node_name: str
    op_type: str
    all_start_micros: int
    op_start_rel_micros: int
    op_end_rel_micros: int
    all_end_rel_micros: int
    timeline_label: str
    thread_id: int = 0


@dataclass
class DeviceStepStats:
    device: str
    node_stats: list = field(default_factory=list)


@dataclass
class StepStats:
    dev_stats: list = field(default_factory=list)


DEFAULT_DEVICE = "/job:localhost/replica:0/task:0/device:CPU:0"


class Tracer:
    """Wraps kernels so each call is logged as (op, device, start ns, end ns, thread)."""

    def __init__(self):
        self.log: list = []

    def wrap(self, kernel, op, device: str):
        log = self.log
        name, op_type = op.name, op.type
        label = f"{name} = {op_type}({', '.join(t.name for t in op.inputs)})"
        device = device or DEFAULT_DEVICE

        def traced(*args):
            start = time.perf_counter_ns()
            try:
                return kernel(*args)
            finally:
                log.append((name, op_type, label, device, start, time.perf_counter_ns(), threading.get_ident()))

        return traced

    def step_stats(self) -> StepStats:
        """The logged calls since the last call, grouped by device, as TF's StepStats."""
        entries, self.log[:] = list(self.log), []
        return step_stats_of(entries, _EPOCH_NS)


def step_stats_of(entries, epoch_ns: int = 0) -> StepStats:
    """TF's StepStats of ``(name, op type, label, device, start ns, end ns, thread)`` entries.

    ``epoch_ns`` turns the entries' clock into wall-clock nanoseconds (0: they already are).
    """
    by_device: dict[str, DeviceStepStats] = {}
    for name, op_type, label, device, start, end, thread in entries:
        dev = by_device.setdefault(device, DeviceStepStats(device))
        dur = max((end - start) // 1000, 0)
        dev.node_stats.append(NodeExecStats(name, op_type, (start + epoch_ns) // 1000, 0, dur, dur, label,
                                            thread))
    return StepStats(list(by_device.values()))
