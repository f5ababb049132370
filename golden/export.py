"""Export a trained :class:`golden.neuron.MulFreePSN` layer to a core spec (INTERFACE.md section 2).

Input-scale convention
----------------------
The core's integer input X (``input_width`` bits, signed) stands for the float input
``x = X * 2^input_exp`` of the layer (``input_exp = 0``: the layer sees the integers themselves, e.g.
spikes 0/1 of a previous layer; ``input_exp = -f``: fixed point with f fractional bits). The scale is
folded into the exponents: with ``Q(W_f)[c][i] = s * 2^e``,

    shift[c][i] = e + input_exp,  exp_min = layer.exp_min + input_exp,  exp_max = layer.exp_max + input_exp

(``tight=True`` narrows [exp_min, exp_max] to the exponents actually used, which shrinks the shifters).
Then the layer's H = sum Q(W_f) x equals ``acc * 2^exp_min`` exactly, and since acc is an integer,
``H >= Vth  <=>  acc >= theta = ceil(Vth * 2^-exp_min)`` with ``Vth = -b_f`` (Eq. 18, 28). Zero
weights (Q(0) = 0) become zero taps (``shift`` null).

Exactness of the float layer (when its spikes equal the core's)
---------------------------------------------------------------
Every product ``Q(W_f) * x`` is an integer multiple of 2^exp_min, and every partial sum, in any order,
is at most ``k * 2^(input_width-1) * 2^(exp_max-exp_min) <= 2^(acc_width-2)`` in units of 2^exp_min. A
float with a p-bit significand holds all such sums exactly when ``acc_width - 2 <= p``:
**float32 when acc_width <= 26, float64 when acc_width <= 55** (and 2^exp_min is not below the
format's smallest subnormal, and no overflow). H is then exact, so the rounded ``fl(H + b_f)`` has the
sign of ``H + b_f`` (rounding is monotone and 0 is a float), and ``Theta(fl(H + b_f)) = (acc >= theta)``
exactly. GPU float32 convolutions may use TF32 (10-bit significand) and break this; :func:`float_reference`
therefore runs the layer's own fused parameters through the convolution in float64 on the CPU.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from shiftpsn.errors import SpecError, UsageError
from shiftpsn.spec import CoreSpec
from shiftpsn.stimulus import check_stimulus

from .accel import temporal_conv
from .neuron import MulFreePSN
from .quant import pow2_decompose

#: Widest accumulator for which float32 / float64 compute the layer's H exactly (module docstring).
EXACT_ACC_WIDTH = {torch.float32: 26, torch.float64: 55}


def _check_layer(layer) -> None:
    if not isinstance(layer, MulFreePSN):
        raise UsageError(f"export needs a MulFreePSN layer, got {type(layer).__name__}")
    if layer.training:
        raise UsageError("export needs an eval-mode layer (running statistics): call layer.eval()")
    if not layer.quantize:
        raise UsageError("export needs a quantized layer (quantize=True): the core only has "
                         "power-of-two weights")


def inference_parameters(layer: MulFreePSN) -> tuple[torch.Tensor, torch.Tensor]:
    """The eval-mode layer's ``(Q(W_f), b_f)`` as it computes them, detached, in its dtype."""
    _check_layer(layer)
    with torch.no_grad():
        w, b = layer.fused_parameters()
    return w.detach(), b.detach()


def export_spec(layer: MulFreePSN, *, input_width: int, input_exp: int = 0, name: str = "shiftpsn_core",
                weights: str = "runtime", tight: bool = False, **optional) -> CoreSpec:
    """The core spec that computes the eval-mode ``layer`` on integer inputs X, x = X * 2^input_exp.

    ``golden.integer.run(spec, X)`` gives the spikes of the float layer on ``X * 2^input_exp``, exactly
    (module docstring). ``optional`` passes further optional spec keys (``pipeline``, ``emit_acc``,
    ``arith``). Raises UsageError / SpecError for a layer or setting that cannot be exported.
    """
    if not isinstance(input_exp, int) or isinstance(input_exp, bool):
        raise UsageError(f"input_exp must be an integer, got {input_exp!r}")
    w, b = inference_parameters(layer)
    sign, exponent, nonzero = pow2_decompose(w, layer.exp_min, layer.exp_max)
    C, k = w.shape
    if tight and bool(nonzero.any()):
        lo, hi = int(exponent[nonzero].min()), int(exponent[nonzero].max())
    else:
        lo, hi = layer.exp_min, layer.exp_max
    exp_min, exp_max = lo + input_exp, hi + input_exp
    shift = [[int(exponent[c, i]) + input_exp if nonzero[c, i] else None for i in range(k)] for c in range(C)]
    signs = [[int(sign[c, i]) for i in range(k)] for c in range(C)]
    threshold = []
    for c, bias in enumerate(b.tolist()):
        vth = -bias
        if not math.isfinite(vth):
            raise SpecError(f"export: threshold Vth[{c}] = {vth} is not finite")
        scaled = math.ldexp(vth, -exp_min)  # exact: a power-of-two scale
        if not math.isfinite(scaled):
            raise SpecError(f"export: threshold Vth[{c}] = {vth} overflows at exp_min = {exp_min}")
        threshold.append(math.ceil(scaled))
    return CoreSpec(channels=C, order=layer.order, dilation=layer.dilation, input_width=input_width,
                    exp_min=exp_min, exp_max=exp_max, shift=shift, sign=signs, threshold=threshold,
                    weights=weights, name=name, **optional)


def export_metadata(layer: MulFreePSN, spec: CoreSpec, *, input_exp: int = 0) -> dict:
    """JSON-ready facts about an export that the spec itself has no key for."""
    w, b = inference_parameters(layer)
    return {
        "input_exp": input_exp,
        "input_scale": math.ldexp(1.0, input_exp),
        "input_convention": "float input = integer input * 2^input_exp",
        "layer": {"channels": layer.channels, "order": layer.order, "dilation": layer.dilation,
                  "exp_min": layer.exp_min, "exp_max": layer.exp_max, "threshold": layer.threshold_kind,
                  "layout": layer.layout, "dtype": str(w.dtype).removeprefix("torch.")},
        "vth": [-v for v in b.tolist()],
        "acc_width": spec.acc_width,
        "exact_float": [str(dt).removeprefix("torch.") for dt, width in EXACT_ACC_WIDTH.items()
                        if spec.acc_width <= width],
    }


def float_reference(layer: MulFreePSN, x, *, input_width: int, input_exp: int = 0,
                    dtype: torch.dtype = torch.float64, method: str | None = None
                    ) -> tuple[np.ndarray, np.ndarray]:
    """Run the eval-mode quantized float layer on integer inputs, exactly, on the CPU.

    The layer's own ``(Q(W_f), b_f)`` (computed in its dtype) are converted to ``dtype`` (exact) and
    applied as in :meth:`MulFreePSN.charge`: ``S = Theta(conv(x, Q(W_f)) + b_f)``.

    Parameters
    ----------
    x : integer array (T, C) or (B, T, C)
        The core's stimulus; the layer sees ``x * 2^input_exp`` in its own layout.
    dtype : torch.float32 or torch.float64
        Arithmetic of the convolution; raises UsageError when it would not be exact
        (``acc_width`` above :data:`EXACT_ACC_WIDTH`).
    method : str, optional
        ``temporal_conv`` method; default the layer's.

    Returns
    -------
    spikes : uint8 array of ``x``'s shape, Theta(H + b_f)
    h : float64 array of ``x``'s shape, H = conv(x, Q(W_f)) (so ``h * 2^-exp_min`` is the core's acc)
    """
    spec = export_spec(layer, input_width=input_width, input_exp=input_exp)
    if dtype not in EXACT_ACC_WIDTH:
        raise UsageError(f"dtype must be one of {list(EXACT_ACC_WIDTH)}, got {dtype}")
    if spec.acc_width > EXACT_ACC_WIDTH[dtype]:
        raise UsageError(f"acc_width {spec.acc_width} exceeds {EXACT_ACC_WIDTH[dtype]}: {dtype} would "
                         f"round H; use a wider dtype or narrower input_width / exponent range")
    shape = np.shape(x)
    xs = torch.from_numpy(check_stimulus(x, spec))  # (B, T, C) int64
    w, b = inference_parameters(layer)
    # (B, T, C) -> the layer's layout: time-first (T, B, C), time-last (B, C, T)
    perm = (1, 0, 2) if layer.layout == "time-first" else (0, 2, 1)
    xt = (xs.to(dtype) * math.ldexp(1.0, input_exp)).permute(perm).contiguous()  # exact scaling
    with torch.no_grad():
        h = temporal_conv(xt, w.cpu().to(dtype), layer.dilation, layer.layout, method or layer.method)
        v = h + layer.bias_view(b.cpu().to(dtype), h.dim(), layer.channel_dim)
    spikes = (v >= 0).permute(perm).numpy().astype(np.uint8)  # the permutations are involutions
    return spikes.reshape(shape), h.permute(perm).to(torch.float64).numpy().reshape(shape)
