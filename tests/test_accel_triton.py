"""Method 5, the Triton kernels (Algorithms 2, 3; Eq. 22-25), against the numpy reference.

Without CUDA they run in Triton's CPU interpreter: this module sets ``TRITON_INTERPRET=1`` before
anything imports Triton (the interpreter must be on when Triton is imported; shiftpsn.golden.accel imports it only
on first use). If another test module in the same worker imported Triton first, the interpreter is off here, and one test reruns this file in a
fresh process with the variable set. With CUDA the ``gpu`` tests run the compiled kernels.
"""

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

if not torch.cuda.is_available():
    os.environ.setdefault("TRITON_INTERPRET", "1")

from shiftpsn.golden.accel import available_methods, temporal_conv, triton_conv  # noqa: E402
from test_accel_methods import CASES, check_method  # noqa: E402

IN_PROCESS = triton_conv.interpreter_enabled()  # imports Triton now, unless someone did before
HAVE_TRITON = triton_conv.IMPORT_ERROR is None
need_interp = pytest.mark.skipif(not IN_PROCESS, reason="Triton's interpreter is off in this process; "
                                 "test_rerun_in_interpreter_process runs these tests")



def test_triton_importable():
    assert HAVE_TRITON, triton_conv.IMPORT_ERROR


@pytest.mark.skipif(IN_PROCESS or torch.cuda.is_available() or not HAVE_TRITON,
                    reason="the interpreter tests run in this process")
def test_rerun_in_interpreter_process():
    env = dict(os.environ, TRITON_INTERPRET="1")
    proc = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:xdist", "-p", "no:cacheprovider",
                           __file__], capture_output=True, text=True, env=env, cwd=Path(__file__).parent.parent,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-2000:]
    assert " passed" in proc.stdout and "interpreter is off" not in proc.stdout, proc.stdout[-2000:]


@need_interp
@pytest.mark.parametrize("dtype", [torch.float64, torch.float32], ids=["f64", "f32"])
def test_triton_interpreted_matches_reference(dtype):
    for n, (layout, shape, k, d) in enumerate(CASES[:12]):
        check_method("triton", layout, shape, k, d, dtype, seed=n, bias=n % 5 != 0)


@need_interp
@pytest.mark.parametrize("layout", ["time-first", "time-last"])
def test_triton_interpreted_tile_edges(layout):
    # more rows and steps than one tile (16 x 8 / 8 x 16), ragged at both ends, d > 1, with "..." dims
    shape = (19, 3, 5, 2) if layout == "time-first" else (3, 5, 2, 19)
    check_method("triton", layout, shape, 4, 3, torch.float64, seed=7)


@need_interp
def test_triton_only_weight_or_only_input_grad():
    x = torch.randn(6, 2, 3, dtype=torch.float64)
    w = torch.randn(3, 2, dtype=torch.float64, requires_grad=True)
    (gw,) = torch.autograd.grad(temporal_conv(x, w, 1, "time-first", "triton").sum(), (w,))
    (gw_ref,) = torch.autograd.grad(temporal_conv(x, w, 1, "time-first", "vanilla").sum(), (w,))
    torch.testing.assert_close(gw, gw_ref, rtol=1e-12, atol=1e-12)
    xg = x.clone().requires_grad_()
    (gx,) = torch.autograd.grad(temporal_conv(xg, w.detach(), 1, "time-first", "triton").sum(), (xg,))
    (gx_ref,) = torch.autograd.grad(temporal_conv(xg, w.detach(), 1, "time-first", "vanilla").sum(), (xg,))
    torch.testing.assert_close(gx, gx_ref, rtol=1e-12, atol=1e-12)


@need_interp
def test_triton_on_cpu_only_when_asked():
    assert "triton" not in available_methods("time-first", "cpu")
    assert "triton" in available_methods("time-first", "cpu", interpreted=True)


GPU_CASES = [((8, 64, 128), 4, 2), ((64, 32, 16, 3), 16, 3), ((300, 4, 8), 3, 120), ((5, 3, 7), 1, 1),
             ((6, 2, 3), 3, 9), ((1024, 8, 64), 16, 1)]


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("method", ["triton", "vanilla", "vmap_conv1d", "conv2d", "vmap_mm", "shift_add"])
def test_gpu_method_matches_reference(method):
    """Compiled kernels / cuDNN on the GPU: both dtypes, both layouts, the bench shapes and edge cases
    (TF32 off: cuDNN would otherwise round float32 convolutions to 10-bit mantissas)."""
    ran = 0
    with torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
        ran = _run_gpu_cases(method)
    assert ran >= len(GPU_CASES) * 2


def _run_gpu_cases(method):
    ran = 0
    for layout in available_layouts(method):
        for dtype in (torch.float64, torch.float32):
            for n, ((T, N, C, *rest), k, d) in enumerate(GPU_CASES):
                shape = (T, N, C, *rest) if layout == "time-first" else (N, C, *rest, T)
                check_method(method, layout, shape, k, d, dtype, device="cuda", seed=n, bias=n % 2 == 0)
                ran += 1
    return ran


def available_layouts(method):
    return [lay for lay in ("time-first", "time-last") if method in available_methods(lay, "cuda")]
