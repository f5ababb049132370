"""``shiftpsn golden --spec SPEC.json --input X.npy --output OUT.npz``: the integer model on a file."""

from shiftpsn.base.spec import CoreSpec
from shiftpsn.base.stimulus import load_stimulus, save_results


def add_arguments(p):
    p.add_argument("--spec", required=True, help="core spec JSON (docs/CONTRACT.md section 2)")
    p.add_argument("--input", required=True, help="stimulus .npy, integer (T, C) or (B, T, C)")
    p.add_argument("--output", required=True, help="results .npz (spikes uint8, acc int64)")


def run(args):
    from shiftpsn.golden.integer import accumulate, hw_thresholds

    spec = CoreSpec.load(args.spec)
    x, shape = load_stimulus(args.input, spec)
    acc = accumulate(spec, x)
    save_results(args.output, acc >= hw_thresholds(spec), acc, shape)
    print(f"golden: {x.shape[0]} sequence(s) x {x.shape[1]} steps x {spec.channels} channels -> {args.output}")
