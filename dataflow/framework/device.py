"""Device specifications: ``/job:ps/replica:0/task:1/device:GPU:0`` and its short forms.

``tf.device`` scopes nest by merging: an inner partial spec fills in or overrides the fields it names,
as in TensorFlow. Placement (which backend runs an op) reads the merged spec.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

_FIELD = re.compile(r"^(job|replica|task|device|cpu|gpu|opencl):?(.*)$", re.IGNORECASE)


@dataclass(frozen=True)
class DeviceSpec:
    """A parsed device string; ``None`` fields are unspecified."""

    job: str | None = None
    replica: int | None = None
    task: int | None = None
    device_type: str | None = None
    device_index: int | None = None

    @classmethod
    def from_string(cls, spec: str | None) -> "DeviceSpec":
        if not spec:
            return cls()
        if isinstance(spec, DeviceSpec):
            return spec
        fields = {}
        for part in spec.strip("/").split("/"):
            if not part:
                continue
            m = _FIELD.match(part)
            if not m:
                raise ValueError(f"Unknown attribute '{part}' in device specification '{spec}'")
            key, rest = m.group(1).lower(), m.group(2)
            if key in ("cpu", "gpu", "opencl"):
                fields["device_type"] = key.upper()
                fields["device_index"] = None if rest in ("", "*") else int(rest)
            elif key == "device":
                kind, _, index = rest.partition(":")
                fields["device_type"] = kind.upper() if kind else None
                fields["device_index"] = None if index in ("", "*") else int(index)
            elif key == "job":
                fields["job"] = rest
            else:
                fields[key] = int(rest)
        return cls(**fields)

    def merge_from(self, other: "DeviceSpec") -> "DeviceSpec":
        """``self`` with every field ``other`` specifies taken from ``other``."""
        changes = {k: getattr(other, k) for k in ("job", "replica", "task") if getattr(other, k) is not None}
        if other.device_type is not None:
            changes["device_type"] = other.device_type
            changes["device_index"] = other.device_index
        return replace(self, **changes)

    def to_string(self) -> str:
        out = ""
        if self.job is not None:
            out += f"/job:{self.job}"
        if self.replica is not None:
            out += f"/replica:{self.replica}"
        if self.task is not None:
            out += f"/task:{self.task}"
        if self.device_type is not None:
            index = "*" if self.device_index is None else self.device_index
            out += f"/device:{self.device_type}:{index}"
        return out

    def __str__(self) -> str:
        return self.to_string()


def canonical(spec: str | None) -> str:
    return DeviceSpec.from_string(spec).to_string()


LOCAL_CPU = "/job:localhost/replica:0/task:0/device:CPU:0"


def canonical_device(spec: str | DeviceSpec | None) -> str:
    """The fully specified device that ``spec`` means in a local session, TF's canonical form.

    Unset fields default to the local process's first CPU, so ``''``, ``'/cpu:0'``,
    ``'/device:CPU:0'`` and ``'/job:localhost/replica:0/task:0/device:CPU:0'`` all give
    :data:`LOCAL_CPU`, and ``'/gpu:0'`` gives ``'/job:localhost/replica:0/task:0/device:GPU:0'``.
    Placement and segmenting compare these names, never the strings ops were made with.

    Examples
    --------
    >>> canonical_device("/cpu:0") == canonical_device("") == LOCAL_CPU
    True
    """
    d = DeviceSpec.from_string(spec)
    return DeviceSpec(d.job if d.job is not None else "localhost", d.replica or 0, d.task or 0,
                      d.device_type or "CPU", d.device_index or 0).to_string()


def merge(outer: str, inner: str) -> str:
    return DeviceSpec.from_string(outer).merge_from(DeviceSpec.from_string(inner)).to_string()
