"""A trained network's mul-free neuron layer as a core: its spec, its real input currents on the test
set quantized to the core's integer input grid, and the quantized float layer's spikes on them.

Input scale
-----------
The layer's input current is the BatchNorm output of its block (:mod:`golden.train.models`). It is
quantized to ``input_width``-bit signed integers on a power-of-two grid 2^input_exp::

    X = clip(round(x / 2^input_exp), -2^(W-1), 2^(W-1) - 1)

with the smallest ``input_exp`` for which the largest |x| over the *training* set fits (the scale is
calibrated on training data, then applied to the test set; test values beyond the range saturate and
are counted). :func:`golden.export.export_spec` folds 2^input_exp into the exponents, so the core on
X computes the float layer on ``X * 2^input_exp`` exactly.

The float reference is the layer module itself in eval mode run on ``X * 2^input_exp`` (float32
computes H exactly up to a 26-bit accumulator; wider cores fall back to float64, see
:mod:`golden.export`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from shiftpsn.errors import UsageError
from shiftpsn.spec import CoreSpec

from .checkpoints import load_checkpoint
from .tasks import load_task


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
        :func:`golden.export.export_metadata` plus the items above that are not arrays.
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
    from golden.neuron import MulFreePSN

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
    :data:`golden.export.EXACT_ACC_WIDTH`); otherwise the layer's fused parameters convolved in float64
    (:func:`golden.export.float_reference`).
    """
    from golden.export import EXACT_ACC_WIDTH, float_reference

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
        Passed to :func:`golden.export.export_spec`.
    test_subset : int, optional
        Only the first this many test samples.
    """
    from golden.export import export_metadata, export_spec

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
