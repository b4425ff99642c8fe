"""Every op spec row: forward against NumPy; gradient against central differences (float64).

The same rows run on every other backend present (OpenCL where pyopencl finds a device, CUDA where a
GPU exists), with the op placed on that device (ops without a kernel there fall back to the CPU:
``tests/test_backends.py`` lists and checks which).
"""

import pytest

from opspec import all_specs, backend_devices, check_forward, check_gradient

SPECS = all_specs()
DEVICES = [d for d in backend_devices() if "CPU" not in d]


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_forward(spec):
    check_forward(spec)


GRAD_SPECS = [s for s in SPECS if s.grad]


@pytest.mark.parametrize("spec", GRAD_SPECS, ids=[s.name for s in GRAD_SPECS])
def test_gradient(spec):
    check_gradient(spec)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
def test_forward_on_device(spec, device):
    check_forward(spec, device)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("spec", GRAD_SPECS, ids=[s.name for s in GRAD_SPECS])
def test_gradient_on_device(spec, device):
    check_gradient(spec, device)
