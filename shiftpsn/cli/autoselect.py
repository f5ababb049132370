"""``shiftpsn autoselect``: Algorithm 1 of MF-PSN for one neuron layer on this machine.

Times forward + backward of the temporal convolution (Eq. 17/22, with a per-channel bias) by every
method available on the device, in each layout, ``2m + 1`` times per method (the mean of the last ``m``
counts), and prints each time and the choice: the fastest layout and its fastest method.

Triton competes on CUDA; on CPU only with ``--triton-interpret`` (its interpreter; slow).

``--json`` prints one JSON object instead of the table, with the keys:

* ``shape`` (list, time-first T, N, C, ...), ``order`` (k), ``dilation`` (d), ``device`` (name),
  ``dtype``, ``repeats`` (m), ``layouts`` (the layouts that competed);
* ``times_s``: layout -> method -> mean forward+backward seconds;
* ``layout_times_s``: layout -> the fastest method's seconds in that layout;
* ``best_method``: layout -> the fastest method in that layout;
* ``choice``: ``{"layout": ..., "method": ...}``, the overall fastest;
* ``overhead_s``: wall-clock seconds the selection took; ``cached``: true when it came from ``--cache``.
"""

from __future__ import annotations

import json
import os
import sys

from shiftpsn.base import limits
from shiftpsn.base.errors import UsageError
from shiftpsn.base.paths import prepare_output

from .args import int_range


def add_arguments(parser) -> None:
    parser.add_argument("--shape", required=True, help="T,N,C[,...] of the time-first input, e.g. 8,64,128")
    parser.add_argument("--order", required=True, type=int_range(1, limits.MAX_TRAIN_ORDER),
                        help=f"k, taps per channel (1 .. {limits.MAX_TRAIN_ORDER})")
    parser.add_argument("--dilation", required=True, type=int_range(1, limits.MAX_AUTOSELECT_SPAN),
                        help="d (>= 1)")
    parser.add_argument("--layout", choices=["time-first", "time-last"],
                        help="let only this layout compete (default: both)")
    parser.add_argument("--json", action="store_true", help="print one JSON object (keys: see --help of the module)")
    parser.add_argument("--repeats", type=int_range(1, 1000), default=5,
                        help="m: 2m+1 runs per method, mean of the last m (1 .. 1000)")
    parser.add_argument("--device", choices=["cpu", "cuda"], default="cpu")
    parser.add_argument("--dtype", choices=["float32", "float64"], default="float32")
    parser.add_argument("--triton-interpret", action="store_true",
                        help="on CPU, let the Triton kernels compete through Triton's interpreter (slow)")
    parser.add_argument("--cache", metavar="FILE", help="JSON file to read a stored choice from and store it in")


def parse_shape(text: str) -> tuple[int, ...]:
    """'T,N,C[,...]' -> a tuple of positive ints (UsageError otherwise)."""
    try:
        dims = tuple(int(p) for p in text.split(","))
    except ValueError:
        raise UsageError(f"--shape must be comma-separated integers T,N,C[,...], got {text!r}") from None
    if len(dims) < 3:
        raise UsageError(f"--shape needs at least T,N,C (3 numbers), got {text!r}")
    if min(dims) < 1:
        raise UsageError(f"--shape dimensions must be >= 1, got {text!r}")
    count = 1
    for n in dims:
        count *= n
    limits.check_at_most(count, limits.MAX_AUTOSELECT_VALUES, f"--shape {text}: values T*N*C*...")
    return dims


def run(args) -> int:
    shape = parse_shape(args.shape)
    limits.check_at_most((args.order - 1) * args.dilation, limits.MAX_AUTOSELECT_SPAN,
                         "--order/--dilation: the kernel's span (k-1)*d")
    if args.cache is not None:
        prepare_output(args.cache)  # a cache that cannot be written fails before the timing
    if args.triton_interpret:
        if "triton" in sys.modules and os.environ.get("TRITON_INTERPRET") != "1":
            raise UsageError("--triton-interpret: Triton was already imported without TRITON_INTERPRET=1")
        os.environ["TRITON_INTERPRET"] = "1"  # must precede the first import of triton
    import torch

    from shiftpsn.golden.accel import triton_conv
    from shiftpsn.golden.accel.autoselect import select_for_shape

    if args.triton_interpret and not triton_conv.interpreter_enabled():
        raise UsageError(f"--triton-interpret: Triton's interpreter is unavailable ({triton_conv.IMPORT_ERROR})")

    if args.device == "cuda" and not torch.cuda.is_available():
        raise UsageError("--device cuda: no CUDA device is available here")
    layouts = (args.layout,) if args.layout else ("time-first", "time-last")
    progress = None if args.json else print
    choice = select_for_shape(shape, args.order, args.dilation, layouts=layouts, device=args.device,
                              dtype=getattr(torch, args.dtype), repeats=args.repeats,
                              triton_on_cpu=args.triton_interpret, cache_file=args.cache, progress=progress)
    (name,) = choice.times_s[layouts[0]].keys()  # one layer
    result = {
        "shape": list(shape), "order": args.order, "dilation": args.dilation,
        "device": args.device, "dtype": args.dtype, "repeats": args.repeats, "layouts": list(layouts),
        "times_s": {lay: choice.times_s[lay][name] for lay in layouts},
        "layout_times_s": choice.layout_times_s,
        "best_method": {lay: choice.all_methods[lay][name] for lay in layouts},
        "choice": {"layout": choice.layout, "method": choice.methods[name]},
        "overhead_s": choice.overhead_s, "cached": choice.cached,
    }
    if args.json:
        print(json.dumps(result, indent=1))
        return 0
    print(f"choice: layout={choice.layout} method={choice.methods[name]} "
          f"({choice.layout_times_s[choice.layout] * 1e3:.3f} ms forward+backward)")
    print(f"autoselect overhead: {choice.overhead_s:.3f} s{' (cached)' if choice.cached else ''}")
    return 0
