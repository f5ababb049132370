"""Autoselect (MF-PSN Algorithm 1): time every acceleration method of every layer in both data
layouts and keep the fastest.

For each layout Omega: the input is moved to Omega and passed through the layers in order; for every
selectable layer (see :mod:`shiftpsn.golden.accel.module` for the protocol) each candidate method runs forward,
then backward on a random output gradient, ``2m + 1`` times; ``t_{l,i}`` is the mean of the last ``m``
forward + backward times (the first ``m + 1`` warm caches and allocators up). The layer keeps its
fastest method, ``t_Omega`` adds that minimum, and the next layer's input is this layer's output. A
layer with nothing to choose is timed the same way (its cost differs between layouts too). The result
is the layout with the smallest ``t_Omega`` and each layer's method in it.

Only methods that can run on the device and fit the shape (:func:`shiftpsn.golden.accel.method_fits`) compete:
Triton on CUDA, and on CPU only when asked
(``triton_on_cpu=True``, which needs ``TRITON_INTERPRET=1`` set before Triton is imported: the
interpreter is far too slow to win but lets the path be exercised).

Choices are cached in memory, keyed by the layers (types, parameter shapes, settings), the input
shape and dtype, the device (name) and the options; optionally also in a JSON file (``cache_file``),
read before and updated after a search. :func:`autoselect` leaves parameters, buffers (e.g. batch
norm statistics) and gradients as it found them, and sets each layer's ``layout``/``method`` to the
choice. ``Choice.overhead_s`` is the wall-clock time the selection itself took.
"""

from __future__ import annotations

import json
import os
import platform
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch
from torch import nn

from shiftpsn.base.errors import UsageError
from shiftpsn.base.limits import load_json
from shiftpsn.base.paths import atomic_write

from . import available_methods, method_fits, triton_conv
from .layout import LAYOUTS, to_layout

_CACHE: dict[str, "Choice"] = {}


@dataclass
class Choice:
    """The outcome of Algorithm 1.

    Attributes
    ----------
    layout : str
        Omega*, the fastest layout.
    methods : dict
        layer name -> chosen method in ``layout`` (selectable layers only).
    times_s : dict
        layout -> layer name -> method -> mean forward+backward seconds.
    layout_times_s : dict
        layout -> t_Omega (seconds, sum of each layer's fastest time).
    overhead_s : float
        Wall-clock seconds the selection took (a cache hit: the lookup).
    cached : bool
        True when the choice came from the cache.
    key : str
        The cache key.
    """

    layout: str
    methods: dict
    times_s: dict
    layout_times_s: dict
    overhead_s: float
    cached: bool = False
    key: str = ""
    all_methods: dict = field(default_factory=dict)  # layout -> layer name -> best method in that layout

    def to_json(self) -> dict:
        return asdict(self)


def _layers(model) -> list[nn.Module]:
    """The stacked layers M_0..M_{L-1}: nested ``nn.Sequential`` flattened; a lone module is one layer."""
    if isinstance(model, nn.Sequential):
        return [m for child in model for m in _layers(child)]
    if isinstance(model, nn.Module):
        return [model]
    return [m for child in model for m in _layers(child)]


def _selectable(layer) -> bool:
    return hasattr(layer, "layout") and hasattr(layer, "method")


def _candidates(layer, layout: str, device, triton_on_cpu: bool) -> list[str]:
    if hasattr(layer, "candidate_methods"):
        names = list(layer.candidate_methods(layout, device))
    else:
        names = available_methods(layout, device)
    if torch.device(device).type != "cuda":
        names = [n for n in names if n != "triton"]
        if triton_on_cpu and "triton" in available_methods(layout, device, interpreted=True):
            names.append("triton")
    return names


def device_name(device) -> str:
    dev = torch.device(device)
    if dev.type == "cuda":
        return f"cuda:{torch.cuda.get_device_name(dev)}"
    return f"{dev.type}:{platform.machine()}:{torch.get_num_threads()}threads"


def _sync(device) -> None:
    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def time_forward_backward(layer: nn.Module, x: torch.Tensor, repeats: int) -> float:
    """Algorithm 1 lines 6-13, ``2m + 1`` times; the mean of the last ``m`` (seconds)."""
    dev = x.device
    times = []
    for _ in range(2 * repeats + 1):
        xi = x.detach().requires_grad_(x.is_floating_point())
        _sync(dev)
        t0 = time.perf_counter()
        y = layer(xi)
        _sync(dev)
        t1 = time.perf_counter()
        z = torch.randn_like(y) if y.is_floating_point() else None
        _sync(dev)
        t2 = time.perf_counter()
        if z is not None and y.requires_grad:
            y.backward(z)
        _sync(dev)
        t3 = time.perf_counter()
        times.append(t1 - t0 + t3 - t2)
    return sum(times[-repeats:]) / repeats


def _layer_signature(layer: nn.Module) -> list:
    """What identifies a layer for the cache: its type, settings, parameter shapes and children, but
    not its current ``layout``/``method`` (which the selection itself changes)."""
    settings = sorted((k, repr(v)) for k, v in vars(layer).items()
                      if not k.startswith("_") and k not in ("layout", "method", "training")
                      and isinstance(v, (bool, int, float, str, tuple)))
    params = [(n, list(p.shape)) for n, p in layer.named_parameters(recurse=True)]
    return [type(layer).__name__, settings, params, [repr(c) for c in layer.children()]]


def cache_key(layers, x: torch.Tensor, input_layout: str, layouts, repeats: int, device, triton_on_cpu) -> str:
    return json.dumps({"layers": [_layer_signature(m) for m in layers], "shape": list(x.shape),
                       "input_layout": input_layout, "dtype": str(x.dtype), "device": device_name(device),
                       "layouts": list(layouts), "repeats": repeats, "triton_on_cpu": bool(triton_on_cpu),
                       "torch": torch.__version__}, sort_keys=True)


def apply_choice(model, choice: Choice) -> None:
    """Set every layer's ``layout`` (and the chosen ``method`` where it has one) to ``choice``."""
    for i, layer in enumerate(_layers(model)):
        if hasattr(layer, "layout"):
            layer.layout = choice.layout
        name = _layer_name(i, layer)
        if name in choice.methods:
            layer.method = choice.methods[name]


def _layer_name(i: int, layer: nn.Module) -> str:
    return f"{i}:{type(layer).__name__}"


#: Marker of an autoselect cache file: ``{"format": CACHE_FORMAT, "choices": {key: choice}}``.
CACHE_FORMAT = "shiftpsn-autoselect-1"


def _load_file(path: Path) -> dict:
    """The choices stored in cache file ``path`` ({} when it does not exist yet). A file that is not
    an autoselect cache (no format marker: a spec, notes, a damaged file) is never read as one nor
    replaced: UsageError naming it."""
    if not path.exists():
        return {}
    data = load_json(path, "autoselect cache")
    if not isinstance(data, dict) or data.get("format") != CACHE_FORMAT or not isinstance(data.get("choices"), dict):
        raise UsageError(f"{path} is not an autoselect cache (no \"format\": \"{CACHE_FORMAT}\"); it is left "
                         f"as it is: give --cache a new file name")
    return data["choices"]


def _stored_choice(stored) -> "Choice | None":
    """A stored entry as a Choice, or None when it is damaged (then it is searched and stored anew)."""
    try:
        return Choice(**stored) if isinstance(stored, dict) else None
    except TypeError:
        return None


def autoselect(model, x0: torch.Tensor, *, input_layout: str = "time-first", layouts=LAYOUTS,
               repeats: int = 5, triton_on_cpu: bool = False, cache: bool = True,
               cache_file: str | os.PathLike | None = None, progress=None) -> Choice:
    """Run Algorithm 1 on ``model`` (an ``nn.Sequential`` of layers, or one layer) for input ``x0``.

    Parameters
    ----------
    model : nn.Module or iterable of nn.Module
        M_0..M_{L-1}; nested ``nn.Sequential`` are flattened. Selectable layers have ``layout`` and
        ``method`` attributes; every layer with a ``layout`` attribute is switched to each layout.
    x0 : Tensor
        The network input, in ``input_layout``, on the device to select for.
    layouts : sequence of str
        The layouts that compete (default both).
    repeats : int
        m of Algorithm 1 (2m + 1 runs per method, the mean of the last m counts).
    triton_on_cpu : bool
        Let the Triton method compete on CPU through its interpreter (slow).
    cache, cache_file :
        Use/update the in-memory cache, and the JSON file if given.
    progress : callable or None
        Called with one line of text per timed method.

    Returns
    -------
    Choice
        Also applied to the model (:func:`apply_choice`).
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    for lay in layouts:
        if lay not in LAYOUTS:
            raise ValueError(f"layout must be one of {LAYOUTS}, got {lay!r}")
    if not layouts:
        raise ValueError("at least one layout must compete")
    t_start = time.perf_counter()
    layers = _layers(model)
    device = x0.device
    if triton_on_cpu and device.type != "cuda" and not triton_conv.interpreter_enabled():
        raise ValueError("triton_on_cpu needs Triton imported under TRITON_INTERPRET=1 (set it before importing)")
    key = cache_key(layers, x0, input_layout, layouts, repeats, device, triton_on_cpu)
    path = Path(cache_file) if cache_file is not None else None
    stored_all = _load_file(path) if path is not None else {}  # a foreign file fails before any work
    hit = _CACHE.get(key) if cache else None
    if hit is None and cache and path is not None:
        hit = _stored_choice(stored_all.get(key))
    if hit is not None:
        choice = Choice(**{**hit.to_json(), "cached": True, "overhead_s": time.perf_counter() - t_start})
        apply_choice(model, choice)
        return choice

    saved = _snapshot(layers)
    times: dict = {}
    best: dict = {}
    layout_times: dict = {}
    try:
        for lay in layouts:
            x = to_layout(x0.detach(), input_layout, lay)
            times[lay], best[lay], total = {}, {}, 0.0
            for i, layer in enumerate(layers):
                name = _layer_name(i, layer)
                if hasattr(layer, "layout"):
                    layer.layout = lay
                names = _candidates(layer, lay, device, triton_on_cpu) if _selectable(layer) else [None]
                names = [m for m in names if m is None or method_fits(m, x.shape, lay)]
                if not names:
                    raise ValueError(f"layer {name} has no method for the {lay} layout on {device}")
                per = {}
                for m in names:
                    if m is not None:
                        layer.method = m
                    per[m or "-"] = time_forward_backward(layer, x, repeats)
                    if progress is not None:
                        progress(f"{lay:10s} {name:24s} {m or '-':12s} {per[m or '-'] * 1e3:10.3f} ms")
                fastest = min(per, key=per.get)
                if fastest != "-":
                    layer.method = fastest
                    best[lay][name] = fastest
                times[lay][name] = per
                total += per[fastest]
                with torch.no_grad():
                    x = layer(x)
            layout_times[lay] = total
    finally:
        _restore(layers, saved)
    chosen = min(layout_times, key=layout_times.get)
    choice = Choice(layout=chosen, methods=best[chosen], times_s=times, layout_times_s=layout_times,
                    overhead_s=time.perf_counter() - t_start, cached=False, key=key, all_methods=best)
    apply_choice(model, choice)
    if cache:
        _CACHE[key] = choice
        if path is not None:
            data = dict(_load_file(path))  # re-read: another run may have added choices meanwhile
            data[key] = choice.to_json()
            atomic_write(path, json.dumps({"format": CACHE_FORMAT, "choices": data}, indent=1) + "\n")
    return choice


def _snapshot(layers) -> list:
    """Parameters' gradients and all buffers, to undo what the timing runs changed."""
    out = []
    for layer in layers:
        grads = {n: (None if p.grad is None else p.grad.clone()) for n, p in layer.named_parameters()}
        bufs = {n: b.clone() for n, b in layer.named_buffers()}
        out.append((grads, bufs, getattr(layer, "layout", None), getattr(layer, "method", None)))
    return out


def _restore(layers, saved) -> None:
    for layer, (grads, bufs, layout, method) in zip(layers, saved):
        for n, p in layer.named_parameters():
            p.grad = grads[n]
        own = dict(layer.named_buffers())
        with torch.no_grad():
            for n, b in bufs.items():
                own[n].copy_(b)
        if layout is not None:
            layer.layout = layout
        if method is not None:
            layer.method = method


def select_for_shape(shape, order: int, dilation: int, *, layouts=LAYOUTS, device="cpu",
                     dtype=torch.float32, repeats: int = 5, triton_on_cpu: bool = False,
                     cache_file=None, seed: int = 0, progress=None) -> Choice:
    """Algorithm 1 for one neuron layer's temporal convolution (:class:`~shiftpsn.golden.accel.module.TemporalConv`)
    on a random time-first input of ``shape`` = (T, N, C, ...)."""
    from .module import TemporalConv

    gen = torch.Generator().manual_seed(seed)
    layer = TemporalConv(shape[2], order, dilation).to(device=device, dtype=dtype)
    with torch.no_grad():
        layer.weight.copy_(torch.randn(layer.weight.shape, generator=gen).to(layer.weight))
    x0 = torch.randn(tuple(shape), generator=gen).to(device=device, dtype=dtype)
    return autoselect(layer, x0, layouts=layouts, repeats=repeats, triton_on_cpu=triton_on_cpu,
                      cache_file=cache_file, progress=progress)


__all__ = ["Choice", "apply_choice", "autoselect", "cache_key", "select_for_shape",
           "time_forward_backward"]
