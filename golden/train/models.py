"""The network every neuron is trained in: a stack of ``Linear -> BatchNorm -> neuron`` blocks and a
linear readout averaged over time.

In the spirit of MF-PSN Table 7 (sequential CIFAR: ``{c128k3s1-BN-SN}*3 ... FC10``; pixel CIFAR:
``FC128-BN-SN-...-FC10``) scaled to 8x8 digits::

    x (N, T, F) -> time-first (T, N, F)
    {Linear(F or W, W) -> BatchNorm1d(W) over T*N -> neuron}  x layers
    Linear(W, 10) at every step, averaged over T  -> logits (N, 10)

The neuron of layer ``l`` sees the BatchNorm output as its input current. For the mul-free neuron
that current is what the exported core receives, quantized to integers on a power-of-two grid
(:func:`shiftpsn.golden.export.export_layer`); its own batch-norm threshold (MF-PSN Eq. 26-28) absorbs the scale.
Every neuron gets the same blocks, width and readout.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

import torch
from torch import nn

from shiftpsn.golden.baselines import NeuronArgs, check_neuron
from shiftpsn.base.errors import UsageError

from .tasks import NUM_CLASSES, check_task

DILATIONS = ("fixed", "sawtooth")


@dataclass(frozen=True)
class ModelConfig:
    """Everything needed to rebuild a network (stored in every checkpoint).

    Attributes
    ----------
    task : str
        ``seq-digits`` or ``pixel-digits`` (sets T and the input features).
    neuron : str
        A name of :data:`shiftpsn.golden.baselines.NEURONS`.
    order : int
        k, for the neurons that have one.
    dilation : {"fixed", "sawtooth"}
        Channel-wise PSN only: d = 1 in every layer, or the sawtooth 1, 2, 3, 1, ... (MF-PSN Eq. 11).
    quantize : bool or None
        Power-of-two weights; None = the neuron's own default (mulfree: True, cwpsn: False).
    width : int
        Channels of every hidden layer.
    layers : int
        Number of Linear-BN-neuron blocks.
    method : str
        How the channel-wise PSN computes its temporal convolution (:mod:`shiftpsn.golden.accel`; the same
        function whatever the method): a method name, or ``auto`` for Algorithm 1 (autoselect) at the
        start of training. Default ``shift_add``, the fastest on CPU for these shapes.
    """

    task: str
    neuron: str
    order: int = 4
    dilation: str = "fixed"
    quantize: bool | None = None
    width: int = 64
    layers: int = 3
    method: str = "shift_add"

    def __post_init__(self):
        check_task(self.task)
        kind = check_neuron(self.neuron)
        if not isinstance(self.order, int) or self.order < 1:
            raise UsageError(f"order must be an integer >= 1, got {self.order!r}")
        if self.dilation not in DILATIONS:
            raise UsageError(f"dilation must be one of {', '.join(DILATIONS)}, got {self.dilation!r}")
        if self.dilation != "fixed" and not kind.uses_dilation:
            raise UsageError(f"neuron {self.neuron!r} has no dilation; --dilation sawtooth needs "
                             f"mulfree or cwpsn")
        if self.quantize is not None and kind.quantized is None:
            raise UsageError(f"neuron {self.neuron!r} has no quantization; --quantize/--no-quantize "
                             f"need mulfree or cwpsn")
        from shiftpsn.golden.accel import METHODS

        if self.method != "auto" and self.method not in METHODS:
            raise UsageError(f"unknown convolution method {self.method!r}; choose auto or one of: "
                             f"{', '.join(METHODS)}")
        if self.width < 1 or self.layers < 1:
            raise UsageError(f"width and layers must be >= 1, got {self.width} and {self.layers}")
        from shiftpsn.base.limits import MAX_TRAIN_LAYERS, MAX_TRAIN_ORDER, MAX_TRAIN_WIDTH, check_at_most

        check_at_most(self.width, MAX_TRAIN_WIDTH, "width")
        check_at_most(self.layers, MAX_TRAIN_LAYERS, "layers")
        check_at_most(self.order, MAX_TRAIN_ORDER, "order")

    @property
    def quantized(self) -> bool | None:
        """Whether the neuron's weights are powers of two (None where that does not apply)."""
        kind = check_neuron(self.neuron)
        if kind.quantized is None:
            return None
        return kind.quantized if self.quantize is None else self.quantize

    def dilations(self) -> list[int]:
        """Dilation of each neuron layer."""
        if self.dilation == "sawtooth":
            from shiftpsn.golden.model.dilation import sawtooth_dilations

            return sawtooth_dilations(self.layers)
        return [1] * self.layers

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict) -> "ModelConfig":
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in d.items() if k in names})


class Block(nn.Module):
    """``Linear -> BatchNorm1d -> neuron`` on time-first (T, N, C) tensors."""

    def __init__(self, in_features: int, width: int, neuron: nn.Module):
        super().__init__()
        self.linear = nn.Linear(in_features, width)
        self.norm = nn.BatchNorm1d(width)
        self.neuron = neuron

    def current(self, x: torch.Tensor) -> torch.Tensor:
        """The neuron's input current (T, N, W): BN(Linear(x)), BN over all T*N samples."""
        z = self.linear(x)
        return self.norm(z.flatten(0, 1)).view(z.shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.neuron(self.current(x))


class SpikingMLP(nn.Module):
    """The stack described in the module docstring. Input (N, T, F) float, output logits (N, 10)."""

    def __init__(self, config: ModelConfig):
        super().__init__()
        self.config = config
        shape = check_task(config.task)
        kind = check_neuron(config.neuron)
        blocks = []
        in_features = shape.features
        dilations = config.dilations()
        for i, d in enumerate(dilations):
            args = NeuronArgs(channels=config.width, steps=shape.steps, order=config.order, dilation=d,
                              quantize=bool(config.quantized),
                              method="vanilla" if config.method == "auto" else config.method,
                              layer=i, layers=len(dilations))
            blocks.append(Block(in_features, config.width, kind.build(args)))
            in_features = config.width
        self.blocks = nn.ModuleList(blocks)
        # neurons that fuse the previous layer's membrane potential (Window-LIF, Eq. 5) get that layer
        for prev, block in zip([None] + blocks[:-1], blocks):
            link = getattr(block.neuron, "link_previous", None)
            if callable(link):
                link(prev.neuron if prev is not None else None)
        self.readout = nn.Linear(config.width, NUM_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = x.transpose(0, 1)  # (T, N, F)
        for block in self.blocks:
            h = block(h)
        return self.readout(h).mean(0)

    def neuron_layers(self) -> dict[str, nn.Module]:
        """Neuron modules by their names in the state dict (``blocks.<l>.neuron``)."""
        return {f"blocks.{i}.neuron": b.neuron for i, b in enumerate(self.blocks)}

    def autoselect_methods(self, x: torch.Tensor) -> dict[str, str]:
        """Pick each channel-wise neuron's convolution method by timing them on ``x`` (N, T, F)
        (MF-PSN Algorithm 1, :func:`shiftpsn.golden.accel.autoselect.autoselect`, time-first layout only
        since the blocks are time-first). The global random state is left untouched."""
        from shiftpsn.golden.accel.autoselect import autoselect

        chosen = {}
        with torch.random.fork_rng():
            for i, block in enumerate(self.blocks):
                if hasattr(block.neuron, "method"):
                    cur = self.layer_current(x, i)
                    autoselect(block.neuron, cur, layouts=("time-first",), repeats=2)
                    chosen[f"blocks.{i}.neuron"] = block.neuron.method
        return chosen

    @torch.no_grad()
    def layer_current(self, x: torch.Tensor, layer: int) -> torch.Tensor:
        """Input current (T, N, W) of neuron layer ``layer`` for inputs ``x`` (N, T, F)."""
        h = x.transpose(0, 1)
        for block in self.blocks[:layer]:
            h = block(h)
        return self.blocks[layer].current(h)
