"""Export a trained :class:`shiftpsn.golden.model.neuron.MulFreePSN` layer to a core spec (docs/CONTRACT.md section 2).

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

Exporting a layer of a trained checkpoint (:func:`export_layer`)
-----------------------------------------------------------------
A trained network's mul-free neuron layer as a core: its spec, its real input currents on the test
set quantized to the core's integer input grid, and the quantized float layer's spikes on them.

Input scale
-----------
The layer's input current is the BatchNorm output of its block (:mod:`shiftpsn.golden.train.models`). It is
quantized to ``input_width``-bit signed integers on a power-of-two grid 2^input_exp::

    X = clip(round(x / 2^input_exp), -2^(W-1), 2^(W-1) - 1)

with the smallest ``input_exp`` for which the largest |x| over the *training* set fits (the scale is
calibrated on training data, then applied to the test set; test values beyond the range saturate and
are counted). :func:`shiftpsn.golden.export.export_spec` folds 2^input_exp into the exponents, so the core on
X computes the float layer on ``X * 2^input_exp`` exactly.

The float reference is the layer module itself in eval mode run on ``X * 2^input_exp`` (float32
computes H exactly up to a 26-bit accumulator; wider cores fall back to float64, see
:mod:`shiftpsn.golden.export`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from shiftpsn.base.errors import SpecError, UsageError
from shiftpsn.base.spec import CoreSpec
from shiftpsn.base.stimulus import check_stimulus

from .accel import temporal_conv
from .model.neuron import MulFreePSN
from .model.quant import pow2_decompose
from .train.checkpoints import load_checkpoint
from .train.tasks import load_task

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

    ``shiftpsn.golden.integer.run(spec, X)`` gives the spikes of the float layer on ``X * 2^input_exp``, exactly
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


# ----------------------------------------------------------------------------- layers of checkpoints
@dataclass
class LayerExport:
    """One exported layer and its test-set stimulus.

    Attributes
    ----------
    layer : str
        Module name, ``blocks.<l>.neuron``.
    spec : CoreSpec
    input_exp : int
        Float input = integer input * 2^input_exp.
    x : int64 array (B, T, C)
        The test set's input currents of the layer, quantized.
    spikes : uint8 array (B, T, C)
        The quantized float layer's spikes on ``x * 2^input_exp``.
    labels : int64 array (B,)
    saturated : int
        Test values that did not fit ``input_width`` bits and were saturated.
    metadata : dict
        :func:`shiftpsn.golden.export.export_metadata` plus the items above that are not arrays.
    """

    layer: str
    spec: CoreSpec
    input_exp: int
    x: np.ndarray
    spikes: np.ndarray
    labels: np.ndarray
    saturated: int
    metadata: dict


def resolve_layer(model, layer: str | int | None) -> tuple[int, str, torch.nn.Module]:
    """``(index, name, module)`` of a neuron layer given by name (``blocks.0.neuron``), index (``0``)
    or None (the first mul-free neuron). UsageError if it is not there or not a mul-free neuron."""
    from shiftpsn.golden.model.neuron import MulFreePSN

    layers = list(model.neuron_layers().items())
    if layer is None:
        for i, (name, m) in enumerate(layers):
            if isinstance(m, MulFreePSN) and m.quantize:
                return i, name, m
        raise UsageError(f"the network has no mul-free (quantized) neuron layer to export; its neuron "
                         f"is {model.config.neuron!r}")
    names = [n for n, _ in layers]
    text = str(layer)
    if text.isdigit() and int(text) < len(layers):
        i = int(text)
    elif text in names:
        i = names.index(text)
    else:
        raise UsageError(f"no neuron layer {text!r}; the network has {', '.join(names)} "
                         f"(or their indices 0..{len(layers) - 1})")
    name, m = layers[i]
    if not isinstance(m, MulFreePSN):
        raise UsageError(f"layer {name} is a {type(m).__name__}, not a mul-free neuron (MulFreePSN)")
    if not m.quantize:
        raise UsageError(f"layer {name} is a channel-wise PSN without quantization; only power-of-two "
                         f"weights map onto the core (train with --neuron mulfree)")
    return i, name, m


def input_exponent(max_abs: float, input_width: int) -> int:
    """Smallest e with max_abs / 2^e <= 2^(W-1) - 1 (so round() stays in range)."""
    top = (1 << (input_width - 1)) - 1
    if not max_abs > 0:
        return 0
    e = math.ceil(math.log2(max_abs / top))
    while max_abs / math.ldexp(1.0, e) > top:  # guard log2 rounding
        e += 1
    while e > -1074 and max_abs / math.ldexp(1.0, e - 1) <= top:
        e -= 1
    return e


def quantize_current(x: torch.Tensor, input_exp: int, input_width: int) -> tuple[np.ndarray, int]:
    """(X int64 of x's shape, number of saturated values): round-half-even(x / 2^e), saturated."""
    lo, hi = -(1 << (input_width - 1)), (1 << (input_width - 1)) - 1
    q = torch.round(x.double() * math.ldexp(1.0, -input_exp))
    saturated = int(((q < lo) | (q > hi)).sum())
    return q.clamp(lo, hi).to(torch.int64).numpy(), saturated


def float_layer_spikes(layer: torch.nn.Module, x: np.ndarray, input_exp: int, spec: CoreSpec) -> np.ndarray:
    """Spikes (B, T, C) uint8 of the eval-mode quantized float ``layer`` on ``x * 2^input_exp``.

    The layer's own forward (float32) where float32 computes H exactly (``spec.acc_width`` <= 26,
    :data:`shiftpsn.golden.export.EXACT_ACC_WIDTH`); otherwise the layer's fused parameters convolved in float64
    (:func:`shiftpsn.golden.export.float_reference`).
    """
    from shiftpsn.golden.export import EXACT_ACC_WIDTH, float_reference

    dtype = next(layer.parameters()).dtype
    if spec.acc_width > EXACT_ACC_WIDTH.get(dtype, 0):
        return float_reference(layer, x, input_width=spec.input_width, input_exp=input_exp)[0]
    xt = torch.from_numpy(np.ascontiguousarray(x)).to(dtype).mul(math.ldexp(1.0, input_exp))
    with torch.no_grad():
        s = layer(xt.permute(1, 0, 2).contiguous())  # time-first (T, B, C)
    return s.permute(1, 0, 2).numpy().astype(np.uint8)


def _currents(model, data_x: np.ndarray, index: int, batch: int = 512) -> torch.Tensor:
    x = torch.from_numpy(data_x)
    parts = [model.layer_current(x[s:s + batch], index) for s in range(0, len(x), batch)]
    return torch.cat(parts, dim=1).permute(1, 0, 2).contiguous()  # (B, T, C)


def export_layer(checkpoint: str | Path, layer: str | int | None = None, *, input_width: int = 8,
                 tight: bool = True, name: str = "shiftpsn_core", weights: str = "runtime",
                 test_subset: int | None = None, **optional) -> LayerExport:
    """Export neuron layer ``layer`` of a checkpoint with the input scale calibrated on the training
    set, and quantize the test set's input currents of that layer onto the core's integer grid.

    Parameters
    ----------
    checkpoint : path
    layer : str, int or None
        See :func:`resolve_layer`.
    input_width : int
        Bits of the core's signed inputs (>= 2).
    tight : bool
        Narrow [exp_min, exp_max] to the exponents the weights use (smaller shifters).
    name, weights, optional
        Passed to :func:`shiftpsn.golden.export.export_spec`.
    test_subset : int, optional
        Only the first this many test samples.
    """
    from shiftpsn.golden.export import export_metadata, export_spec

    if not isinstance(input_width, int) or input_width < 2:
        raise UsageError(f"input width must be an integer >= 2, got {input_width!r}")
    model, config, _ = load_checkpoint(checkpoint)
    index, layer_name, module = resolve_layer(model, layer)
    data = load_task(config.model.task, test_subset=test_subset)
    train_max = float(_currents(model, data.x_train, index).abs().max())
    input_exp = input_exponent(train_max, input_width)
    spec = export_spec(module, input_width=input_width, input_exp=input_exp, tight=tight, name=name,
                       weights=weights, **optional)
    x, saturated = quantize_current(_currents(model, data.x_test, index), input_exp, input_width)
    spikes = float_layer_spikes(module, x, input_exp, spec)
    meta = export_metadata(module, spec, input_exp=input_exp)
    meta.update({"checkpoint": str(checkpoint), "layer_name": layer_name, "task": config.model.task,
                 "neuron": config.model.neuron, "train_max_abs_current": train_max,
                 "test_samples": int(x.shape[0]), "test_saturated_values": saturated,
                 "quantization": "X = clip(round(x / 2^input_exp)), scale from the training set's max |x|"})
    return LayerExport(layer_name, spec, input_exp, x, spikes, data.y_test, saturated, meta)


def layer_test_inputs(checkpoint: str | Path, layer: str | int | None = None, *, input_width: int = 8,
                      **kwargs) -> tuple[np.ndarray, np.ndarray]:
    """The layer's test-set input currents quantized to the exported scale, (B, T, C) int64, and the
    quantized float layer's spikes on them, (B, T, C) uint8 (see :func:`export_layer`)."""
    e = export_layer(checkpoint, layer, input_width=input_width, **kwargs)
    return e.x, e.spikes
