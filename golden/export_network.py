"""Export a whole trained network (:class:`shiftpsn.golden.train.models.SpikingMLP` with mul-free neurons)
to a network spec (docs/CONTRACT.md section 5) and its test set as integer network inputs.

The trained network is ``{Linear -> BatchNorm1d -> MulFreePSN} x L -> Linear``, logits averaged over
time. Its integer network is ``dense, psn, dense, psn, ..., dense``:

1. **Inputs.** Each task feeds integer pixels X scaled by 2^input_exp (:mod:`~shiftpsn.golden.train.tasks`):
   the digits 0..16 times 2^-4, MNIST 0..255 times 2^-8. The network input is the integer pixel itself,
   so the float input is X * 2^input_exp exactly, and ``input_width`` is the fewest signed bits holding
   the pixels of the training and test sets: 6 for the digits, 9 for MNIST.
2. **BatchNorm folding** (eval mode, running statistics, float64)::

       a = gamma / sqrt(running_var + eps),   W' = a[o] * W[o][i],   b' = a[o] * (b[o] - running_mean[o]) + beta[o]

3. **Dense quantization**, post-training, one power-of-two scale per layer: ``s`` is the smallest
   integer with max|W'| / 2^s <= 2^(B-1) - 1 (B = ``weight_bits``, default 8), and::

       Wq = clip(round(W' / 2^s), -(2^(B-1) - 1), 2^(B-1) - 1)       (signed B-bit integers, symmetric)
       Bq = round(b' / 2^E),   E = s + input_exp                     (an integer of any size on the grid 2^E)

   (round half to even.) The layer then computes, in integers, Y = Wq X + Bq with
   ``BN(Linear(x)) ~ Y * 2^E``; ``input_exp`` is the task's for the first layer and 0 after a neuron layer
   (spikes 0/1). The readout is quantized the same way (its output scale 2^s does not change the argmax).
4. **Neuron layers.** The scale 2^E is folded into the neuron's exponents and threshold by
   :func:`shiftpsn.golden.export.export_spec` (``input_exp = E``, exponent range narrowed to the used
   ones): ``theta = ceil(Vth * 2^-exp_min)``. Its ``input_width`` is the fewest bits that hold the
   exact range of Y over every legal network input (:class:`shiftpsn.base.network.NetworkSpec`).

First layer in hardware: the first dense layer multiplies integer inputs by integer weights. The
hardware takes it multiplier-free as bit-serial inputs (Y = sum_b 2^b (sum_i bit_b(X_i) Wq[o][i]):
one shifted addition of the weight row per input bit), so the file keeps ordinary integer weights.

Three accuracies on the test set:

* ``float``: the trained model itself (float32, BatchNorm, unquantized dense layers);
* ``quantized``: the same network with the dense layers replaced by their quantized values
  ``Wq 2^s``, ``Bq 2^E`` (BatchNorm folded in), inputs X * 2^input_exp, neuron layers as trained, computed in
  float64, class = argmax of the logits summed over time;
* ``integer``: :func:`shiftpsn.golden.network.run_network` on the integer inputs.

``quantized`` equals ``integer`` prediction for prediction when the float64 arithmetic is exact
(``metadata["exact_quantized_float"]``): every dense output is a multiple of 2^E below 2^53 units in
all its partial sums (so matrix products are exact in any summation order) and every neuron layer's
accumulator is at most 55 bits (:data:`shiftpsn.golden.export.EXACT_ACC_WIDTH`), and T times the largest
logit stays below 2^53; the neuron's
``fl(H + b_f) >= 0`` then equals ``acc >= theta`` (:mod:`shiftpsn.golden.export`), and the class sums
are exact so ties break alike (lowest class). The loss from ``float`` to ``quantized`` is the dense
quantization alone.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from shiftpsn.base.errors import SpecError, UsageError
from shiftpsn.base.network import DenseLayer, NetworkSpec, signed_width

from .export import EXACT_ACC_WIDTH, export_spec, inference_parameters, input_exponent
from .model.neuron import MulFreePSN

#: Bits of a quantized dense weight (signed, symmetric: [-(2^(B-1) - 1), 2^(B-1) - 1]).
DEFAULT_WEIGHT_BITS = 8
#: Widest value float64 holds exactly: partial sums of dense outputs must stay below it (in units).
EXACT_FLOAT64_BITS = 53


@dataclass
class NetworkExport:
    """An exported network: ``net``, the test set as network inputs ``x`` (int64 (B, T, I)) and
    ``labels`` (int64 (B,)), the predictions of each model ``predictions`` ({"float", "quantized",
    "integer"}: int64 (B,)) and the JSON-ready ``metadata`` (accuracies, scales, choices)."""

    net: NetworkSpec
    x: np.ndarray
    labels: np.ndarray
    predictions: dict
    metadata: dict


def fold_batchnorm(linear: torch.nn.Linear, norm: torch.nn.BatchNorm1d) -> tuple[np.ndarray, np.ndarray]:
    """(W', b') float64 of ``norm(linear(x))`` in eval mode (running statistics)."""
    w = linear.weight.detach().double().numpy()
    b = linear.bias.detach().double().numpy() if linear.bias is not None else np.zeros(w.shape[0])
    mean = norm.running_mean.detach().double().numpy()
    var = norm.running_var.detach().double().numpy()
    gamma = norm.weight.detach().double().numpy() if norm.affine else np.ones_like(mean)
    beta = norm.bias.detach().double().numpy() if norm.affine else np.zeros_like(mean)
    a = gamma / np.sqrt(var + norm.eps)
    return a[:, None] * w, a * (b - mean) + beta


def quantize_dense(w: np.ndarray, b: np.ndarray, input_exp: int, bits: int, where: str
                   ) -> tuple[np.ndarray, np.ndarray, int]:
    """(Wq int64, Bq int64, s) of float64 (W', b') for inputs on the grid 2^input_exp (module docstring)."""
    if not (np.isfinite(w).all() and np.isfinite(b).all()):
        raise UsageError(f"export: {where} has non-finite weights or bias")
    top = (1 << (bits - 1)) - 1
    s = input_exponent(float(np.abs(w).max()), bits)
    wq = np.clip(np.rint(np.ldexp(w, -s)), -top, top).astype(np.int64)
    e = s + input_exp
    bq = np.rint(np.ldexp(b, -e))
    if np.abs(bq).max(initial=0) >= 2.0 ** 62:
        raise UsageError(f"export: {where}: bias / 2^{e} does not fit int64; the bias dwarfs the weights")
    return wq, bq.astype(np.int64), s


def _neuron_layers(model) -> list[MulFreePSN]:
    layers = []
    for name, m in model.neuron_layers().items():
        if not isinstance(m, MulFreePSN) or not m.quantize:
            raise UsageError(f"export --network needs mul-free (quantized) neurons in every layer; {name} "
                             f"is {type(m).__name__}{'' if not isinstance(m, MulFreePSN) else ' without quantization'} "
                             f"(train with --neuron mulfree)")
        if m.layout != "time-first":
            raise UsageError(f"export --network: {name} has layout {m.layout!r}, expected time-first")
        layers.append(m)
    return layers


def pixel_inputs(x: np.ndarray, input_exp: int) -> np.ndarray:
    """Integer pixels X = x * 2^-input_exp (int64); UsageError if x is not on that grid."""
    q = np.rint(x * np.float64(2.0 ** -input_exp))  # a power of two: exact
    if not np.array_equal(q * np.float64(2.0 ** input_exp), x):
        raise UsageError(f"export --network: the task's inputs are not integers times 2^{input_exp}")
    return q.astype(np.int64)


def build_network(model, *, input_width: int, input_exp: int, weight_bits: int = DEFAULT_WEIGHT_BITS,
                  name: str = "shiftpsn_net", weights: str = "runtime") -> tuple[NetworkSpec, list[dict]]:
    """The network spec of an eval-mode SpikingMLP whose inputs are integers X (float
    x = X * 2^input_exp), and one JSON-ready dict of scales per layer."""
    if not isinstance(weight_bits, int) or not 2 <= weight_bits <= 32:
        raise UsageError(f"weight bits must be an integer in [2, 32], got {weight_bits!r}")
    neurons = _neuron_layers(model)
    layers, info = [], []
    in_exp = input_exp
    xmin, xmax = -(1 << (input_width - 1)), (1 << (input_width - 1)) - 1
    for l, (block, neuron) in enumerate(zip(model.blocks, neurons)):
        L = 2 * l
        w, b = fold_batchnorm(block.linear, block.norm)
        wq, bq, s = quantize_dense(w, b, in_exp, weight_bits, f"blocks.{l}.linear + blocks.{l}.norm")
        dense = DenseLayer(wq, bq, name=f"dense{L}", where=f"layers[{L}] (dense)")
        lo, hi, _ = dense.output_range(xmin, xmax)
        width = signed_width(min(lo), max(hi))
        e = s + in_exp
        try:
            psn = export_spec(neuron, input_width=width, input_exp=e, tight=True, name=f"psn{L + 1}",
                              weights=weights)
        except SpecError as err:
            raise UsageError(f"export --network: blocks.{l}.neuron: {err}") from None
        layers += [dense, psn]
        info.append({"index": L, "type": "dense", "modules": f"blocks.{l}.linear, blocks.{l}.norm (folded)",
                     "weight_exp": s, "input_exp": in_exp, "output_exp": e, "range": [min(lo), max(hi)]})
        info.append({"index": L + 1, "type": "psn", "module": f"blocks.{l}.neuron", "input_width": width,
                     "input_exp": e, "exp_min": psn.exp_min, "exp_max": psn.exp_max,
                     "acc_width": psn.acc_width})
        in_exp, xmin, xmax = 0, 0, 1
    L = 2 * len(neurons)
    r = model.readout
    w = r.weight.detach().double().numpy()
    b = r.bias.detach().double().numpy() if r.bias is not None else np.zeros(w.shape[0])
    wq, bq, s = quantize_dense(w, b, in_exp, weight_bits, "readout")
    layers.append(DenseLayer(wq, bq, name=f"dense{L}", where=f"layers[{L}] (dense)"))
    info.append({"index": L, "type": "dense", "modules": "readout", "weight_exp": s, "input_exp": in_exp,
                 "output_exp": s + in_exp})
    net = NetworkSpec(input_width=input_width, layers=tuple(layers), name=name)
    for item in info:
        if item["type"] == "dense":
            item["range"] = [min(net.ranges[item["index"]][0]), max(net.ranges[item["index"]][1])]
    return net, info


@torch.no_grad()
def quantized_float_predictions(model, net: NetworkSpec, info: list[dict], x: np.ndarray) -> np.ndarray:
    """Classes (int64 (B,)) of the quantized float network (module docstring) on float inputs ``x``
    (B, T, F), in float64 on the CPU: dense layers ``Wq 2^s``, ``Bq 2^E``; neuron layers with their own
    fused parameters (:func:`shiftpsn.golden.export.inference_parameters`) converted to float64."""
    from .accel import temporal_conv

    h = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float64)).transpose(0, 1)  # (T, B, F)
    neurons = dict(zip(net.neuron_indices, _neuron_layers(model)))  # layer index -> the trained neuron
    for L, layer in enumerate(net.layers):
        if layer.role == "synapse":
            item = info[L]
            w = torch.from_numpy(np.ldexp(layer.weight.astype(np.float64), item["weight_exp"]))
            bias = torch.from_numpy(np.ldexp(layer.bias.astype(np.float64), item["output_exp"]))
            h = h @ w.T + bias
        else:
            neuron = neurons[L]
            wf, bf = inference_parameters(neuron)
            v = temporal_conv(h.contiguous(), wf.double(), neuron.dilation, "time-first", "vanilla")
            h = (v + bf.double()).ge(0).double()
    return h.sum(0).argmax(1).numpy().astype(np.int64)


def exact_quantized_float(net: NetworkSpec, steps: int) -> bool:
    """True when float64 computes the quantized float network exactly on sequences of ``steps`` time
    steps (module docstring): dense partial sums, neuron accumulators and class sums all exact."""
    dense_ok = all(b < 2 ** EXACT_FLOAT64_BITS for b in
                   (max(p) for p in net.partial_bounds.values()))
    dense_ok = dense_ok and steps * net.logit_bound < 2 ** EXACT_FLOAT64_BITS
    psn_ok = all(net.layers[L].acc_width <= EXACT_ACC_WIDTH[torch.float64] for L in net.neuron_indices)
    return dense_ok and psn_ok


def export_network(checkpoint: str | Path, *, weight_bits: int = DEFAULT_WEIGHT_BITS,
                   name: str = "shiftpsn_net", weights: str = "runtime",
                   test_subset: int | None = None) -> NetworkExport:
    """Export the whole network of a checkpoint (module docstring) and measure its three accuracies
    on the task's test set (the first ``test_subset`` samples, if given)."""
    from .network import run_network
    from .train.checkpoints import load_checkpoint
    from .train.loop import evaluate
    from .train.tasks import load_task

    model, config, _ = load_checkpoint(checkpoint)
    _neuron_layers(model)
    data = load_task(config.model.task, test_subset=test_subset)
    input_exp = data.shape.input_exp
    # the training set's extremes (not all 47M values: MNIST) and the whole test set on the pixel grid
    x_train = pixel_inputs(np.array([data.x_train.min(), data.x_train.max()]), input_exp)
    x_test = pixel_inputs(data.x_test, input_exp)
    input_width = signed_width(min(0, int(x_train.min()), int(x_test.min())),
                               max(int(x_train.max()), int(x_test.max())))
    net, info = build_network(model, input_width=input_width, input_exp=input_exp,
                              weight_bits=weight_bits, name=name, weights=weights)
    labels = data.y_test.astype(np.int64)
    float_acc, _ = evaluate(model, torch.from_numpy(data.x_test), torch.from_numpy(labels))
    with torch.no_grad():
        float_pred = torch.cat([model(torch.from_numpy(data.x_test[s:s + 512])).argmax(1)
                                for s in range(0, len(labels), 512)]).numpy().astype(np.int64)
    quant_pred = quantized_float_predictions(model, net, info, data.x_test)
    result = run_network(net, x_test)
    int_pred = result.classes
    n = len(labels)
    rates = {f"spikes_{L}": float(s.mean()) for L, s in result.spikes.items()}
    meta = {
        "checkpoint": str(checkpoint), "task": config.model.task, "test_samples": n,
        "accuracy": {"float": float_acc, "quantized": float((quant_pred == labels).mean()),
                     "integer": float((int_pred == labels).mean())},
        "agreement_integer_quantized": float((int_pred == quant_pred).mean()),
        "exact_quantized_float": exact_quantized_float(net, int(x_test.shape[1])),
        "input": {"encoding": f"integer pixels {int(x_train.min())}..{int(x_train.max())}; "
                              f"float input = X * 2^input_exp",
                  "input_exp": input_exp, "input_width": input_width},
        "weight_bits": weight_bits,
        "quantization": ("post-training: BatchNorm folded into the dense layer, Wq = clip(round(W' / 2^s)) "
                         "with one power-of-two scale 2^s per layer (symmetric signed weight_bits), "
                         "Bq = round(b' / 2^(s + input_exp)); neuron layers exported exactly "
                         "(theta = ceil(Vth * 2^-exp_min))"),
        "first_layer": "integer weights x integer pixels; multiplier-free in hardware as bit-serial inputs",
        "layers": info,
        "firing_rates": rates,
    }
    return NetworkExport(net, x_test, labels, {"float": float_pred, "quantized": quant_pred,
                                               "integer": int_pred}, meta)
