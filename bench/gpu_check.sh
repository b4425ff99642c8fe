#!/usr/bin/env bash
# The checks that need an NVIDIA GPU, as one script for a lent GPU machine (no network there).
#
#   bash bench/gpu_check.sh [OUTDIR] [STAGES]
#
# Dask and friends, and pyopencl, travel as wheels in .whl/ (see bench/README.md, "GPU runs"); CuPy, NumPy
# and pytest(-xdist) come with the machine's image. NVIDIA's OpenCL driver is registered for pyopencl when
# the driver ships it, so the OpenCL backend runs on the GPU too. STAGES (default: all) picks from
# env,cuda,ops,bench,cnn. Each stage writes OUTDIR/<stage>.log.
set -u
OUT=${1:-${OUT:-/tmp/gpu_out}}
STAGES=${2:-env,cuda,ops,bench,cnn}
mkdir -p "$OUT"
if [ -d .whl ]; then
    python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl \
        >"$OUT/pip.log" 2>&1 || { cat "$OUT/pip.log"; exit 1; }
    export PYTHONPATH=/tmp/site:$PWD
else
    export PYTHONPATH=$PWD
fi
export PYTHONUNBUFFERED=1
# NVIDIA's OpenCL ICD (pyopencl's bundled loader reads OCL_ICD_VENDORS)
lib=$(ls /usr/local/nvidia/lib64/libnvidia-opencl.so.1 /usr/lib/x86_64-linux-gnu/libnvidia-opencl.so.1 2>/dev/null | head -1)
if [ -n "$lib" ]; then mkdir -p /tmp/icd && echo "$lib" >/tmp/icd/nvidia.icd && export OCL_ICD_VENDORS=/tmp/icd; fi

has() { case ",$STAGES," in *",$1,"*) return 0;; esac; return 1; }

if has env; then
    { nvidia-smi -L; python3 --version; nvcc --version | tail -1
      python3 -c "import numpy, cupy, dask; print('numpy', numpy.__version__, 'cupy', cupy.__version__, 'dask', dask.__version__, 'gpus', cupy.cuda.runtime.getDeviceCount())"
      python3 -c "import pyopencl as cl; print([(p.name, [d.name for d in p.get_devices()]) for p in cl.get_platforms()])"
      python3 -c "import backends; print([b.device for b in backends.available_backends()])"
      python3 -c "import numpy as np, cupy; v = np.random.default_rng(0).standard_normal(1000); i = np.arange(1000) % 7
o = np.full(7, -np.inf); np.maximum.at(o, i, v); c = cupy.full(7, -np.inf); cupy.maximum.at(c, cupy.asarray(i), cupy.asarray(v))
print('cupy.maximum.at float64 exact:', bool((c.get() == o).all()), c.get() - o)"
    } >"$OUT/env.log" 2>&1
    cat "$OUT/env.log"
fi
PYT="python3 -m pytest -q -p no:cacheprovider -o addopts= --timeout 300"
if has cuda; then
    timeout ${T_CUDA:-300} $PYT -rfE --tb=short tests/test_cuda.py tests/test_backends.py tests/test_control_flow_device.py >"$OUT/cuda.log" 2>&1
    tail -5 "$OUT/cuda.log"
fi
if has ops; then
    timeout ${T_OPS:-420} $PYT -n 14 -rfE --tb=short -k "on_device or test_opencl_ports" tests/test_ops.py tests/test_opencl_ports.py >"$OUT/ops.log" 2>&1
    tail -3 "$OUT/ops.log"
fi
if has bench; then
    timeout ${T_BENCH:-240} python3 bench/backends.py >"$OUT/bench.log" 2>&1
    cat "$OUT/bench.log"
fi
if has cnn; then
    { time timeout 240 python3 examples/cnn_digits.py --epochs 5 --device /gpu:0; } >"$OUT/cnn.log" 2>&1
    tail -4 "$OUT/cnn.log"
fi
