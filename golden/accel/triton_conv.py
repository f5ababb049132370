"""Method 5, Triton kernels for both layouts (MF-PSN Appendix A.3, Eq. 22-25, Algorithms 2 and 3).

:class:`TritonTemporalConv` is the autograd Function: forward runs the forward kernel (Algorithm 2),
backward runs the *same* forward kernel on dH with the flipped weights for dX (Eq. 23) and the weight
gradient kernel (Algorithm 3, atomic adds) for dW and db (Eq. 24, 25). Nothing is reshaped or copied:
the kernels index either layout directly.

Where it runs:

* CUDA tensors: compiled kernels, block sizes chosen by ``triton.autotune`` per (rows, T, k) and layout;
* CPU tensors: Triton's interpreter, only when ``TRITON_INTERPRET=1`` was set before Triton was imported
  (it is slow: for tests; see :func:`interpreter_enabled`). Otherwise the method raises ValueError on
  CPU tensors. Under the interpreter, CUDA tensors also go through it (fixed block sizes).

Triton is imported on first use, not with this module. If the package is missing, the method is not
registered; if its import fails (e.g. no driver), :data:`IMPORT_ERROR` says why and :func:`available`
is False. Importing this module never raises.
"""

from __future__ import annotations

import importlib.util
from functools import lru_cache

import torch

from .layout import geometry, rest_size

triton = None  # the module, once _load() succeeded
_k = None  # shiftpsn.golden.accel._triton_kernels
IMPORT_ERROR = None if importlib.util.find_spec("triton") else "ModuleNotFoundError: no module named 'triton'"
_loaded = False


def _load() -> bool:
    """Import Triton and the kernels on first use (so that importing shiftpsn.golden.accel never imports Triton,
    and ``TRITON_INTERPRET`` can still be set before then). False, with :data:`IMPORT_ERROR`, if it fails."""
    global triton, _k, IMPORT_ERROR, _loaded
    if not _loaded:
        _loaded = True
        if IMPORT_ERROR is None:
            try:  # a broken or driverless Triton must not break shiftpsn.golden.accel
                import triton as _triton

                from . import _triton_kernels

                triton, _k = _triton, _triton_kernels
            except Exception as e:  # noqa: BLE001 - any failure means "not available"
                IMPORT_ERROR = f"{type(e).__name__}: {e}"
    return triton is not None


#: block sizes of the interpreter (CPU): one fixed config, no autotuning
_INTERP_BLOCK = {"time-first": (16, 8), "time-last": (8, 16)}
#: autotune candidates (BLOCK_Q, BLOCK_T): rows along the contiguous axis for time-first, T for time-last
_GPU_BLOCKS = {"time-first": [(128, 8), (256, 4), (64, 16), (256, 16)],
               "time-last": [(16, 64), (32, 32), (8, 128), (64, 64)]}


def interpreter_enabled() -> bool:
    """True when Triton runs in its CPU interpreter: ``TRITON_INTERPRET=1`` was set when Triton was
    imported (its standard library is interpreted then; setting the variable later has no effect).
    Imports Triton if that has not happened yet."""
    return _load() and type(triton.language.standard.sum).__name__ == "InterpretedFunction"


def available(device: torch.device | str, interpreted: bool = False) -> bool:
    """Whether the Triton method can run on ``device``: CUDA (compiled, or interpreted), or CPU when
    ``interpreted`` is asked for and the interpreter is on."""
    dev = torch.device(device)
    if dev.type == "cuda":
        return _load() and torch.cuda.is_available()
    return dev.type == "cpu" and interpreted and interpreter_enabled()


@lru_cache(maxsize=None)
def _interpreted():
    """The kernels as interpreter functions (only when Triton was imported with TRITON_INTERPRET=1)."""
    return triton.jit(_k.conv_kernel), triton.jit(_k.wgrad_kernel)


@lru_cache(maxsize=None)
def _compiled(layout: str):
    """The autotuned GPU kernels for one layout (Algorithm 2/3 step 1: autotuned block sizes)."""
    configs = [triton.Config({"BLOCK_Q": bq, "BLOCK_T": bt}, num_warps=4) for bq, bt in _GPU_BLOCKS[layout]]
    conv = triton.autotune(configs, key=["Q", "T", "K", "REVERSE", "HAS_BIAS"])(triton.jit(_k.conv_kernel))
    wgrad = triton.autotune(configs, key=["Q", "T", "K", "HAS_BIAS"],
                            reset_to_zero=["dw_ptr", "db_ptr"])(triton.jit(_k.wgrad_kernel))
    return conv, wgrad


def _acc_dtype(dtype: torch.dtype):
    import triton.language as tl

    return tl.float64 if dtype == torch.float64 else tl.float32


def _launch(which: str, x: torch.Tensor, layout: str, args: tuple, **flags):
    """Run kernel ``which`` ('conv' or 'wgrad') over the rows x time of ``x`` (the layout's geometry)."""
    T, N, C, rest = geometry(x.shape, layout)
    Q, R = N * C * rest_size(rest), rest_size(rest)
    if Q == 0 or T == 0:
        return
    dims = (Q, T, C, R)
    common = dict(TIME_LAST=layout == "time-last", ACC=_acc_dtype(x.dtype), **flags)
    if x.device.type == "cuda" and not interpreter_enabled():
        conv, wgrad = _compiled(layout)
        kernel = conv if which == "conv" else wgrad
        grid = lambda meta: (triton.cdiv(Q, meta["BLOCK_Q"]), triton.cdiv(T, meta["BLOCK_T"]))  # noqa: E731
        with torch.cuda.device(x.device):
            kernel[grid](*args[:4], *dims, *args[4:], **common)
        return
    if not interpreter_enabled():
        raise ValueError("method 'triton' needs a CUDA tensor (or Triton imported with TRITON_INTERPRET=1)")
    conv, wgrad = _interpreted()
    kernel = conv if which == "conv" else wgrad
    bq, bt = _INTERP_BLOCK[layout]
    kernel[(triton.cdiv(Q, bq), triton.cdiv(T, bt))](*args[:4], *dims, *args[4:], BLOCK_Q=bq, BLOCK_T=bt,
                                                       **common)


class TritonTemporalConv(torch.autograd.Function):
    """``H = pad(X) * W + b`` (Eq. 22) with the Triton kernels; backward by Eq. 23-25."""

    @staticmethod
    def forward(ctx, x, weight, bias, dilation, layout):
        x = x.contiguous()
        k = weight.shape[1]
        w = weight.detach().to(x.dtype).contiguous()
        b = None if bias is None else bias.detach().to(x.dtype).contiguous()
        h = torch.empty_like(x)
        _launch("conv", x, layout, (x, w, w if b is None else b, h, k, dilation),
                REVERSE=False, HAS_BIAS=b is not None)
        ctx.save_for_backward(x, w)
        ctx.meta = (dilation, layout, weight.dtype, None if bias is None else bias.dtype)
        return h

    @staticmethod
    def backward(ctx, gh):
        x, w = ctx.saved_tensors
        dilation, layout, wdtype, bdtype = ctx.meta
        C, k = w.shape
        gh = gh.contiguous()
        gx = gw = gb = None
        if ctx.needs_input_grad[0]:
            gx = torch.empty_like(x)
            w_flip = w.flip(1).contiguous()  # Eq. 23: the forward kernel on flip(W), reading forward in time
            _launch("conv", gh, layout, (gh, w_flip, w_flip, gx, k, dilation), REVERSE=True, HAS_BIAS=False)
        want_b = bdtype is not None and ctx.needs_input_grad[2]
        if ctx.needs_input_grad[1] or want_b:
            acc = torch.float64 if x.dtype == torch.float64 else torch.float32
            dw = torch.zeros(C, k, dtype=acc, device=x.device)
            db = torch.zeros(C, dtype=acc, device=x.device)
            _launch("wgrad", x, layout, (x, gh, dw, db, k, dilation), HAS_BIAS=want_b)
            gw = dw.to(wdtype) if ctx.needs_input_grad[1] else None
            gb = db.to(bdtype) if want_b else None
        return gx, gw, gb, None, None


def temporal_conv_triton(x: torch.Tensor, weight: torch.Tensor, dilation: int, layout: str,
                         bias: torch.Tensor | None = None) -> torch.Tensor:
    if not _load():
        raise ValueError(f"method 'triton' is unavailable: {IMPORT_ERROR}")
    if x.device.type != "cuda" and not interpreter_enabled():
        raise ValueError("method 'triton' needs a CUDA tensor (or Triton imported with TRITON_INTERPRET=1)")
    return TritonTemporalConv.apply(x, weight, bias, dilation, layout)
