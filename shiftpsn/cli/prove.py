"""``shiftpsn prove --spec SPEC.json [--verilog CORE.v] [--depth N] [--loads N] [--against mac]
[--induction] [--output-dir DIR]``: formal proof of a core with SymbiYosys (docs/CONTRACT.md section 6).

Exit 0 when every property holds to the depth, 1 with a counterexample (its waveform and beat
sequence are written to DIR and their paths printed), 2 on bad input or a missing tool."""

from pathlib import Path

from shiftpsn.base.errors import CheckFailed, UsageError
from shiftpsn.base.paths import check_not_input, check_writable_dir
from shiftpsn.base.spec import CoreSpec

from .args import int_range

#: Deepest BMC the command accepts (the solver's time grows fast with depth).
MAX_DEPTH = 200
#: Most weight sets loaded in the weights proof (each load adds cfg_words + a history to its depth).
MAX_LOADS = 4
DEFAULT_OUTPUT = Path("out/prove")


def add_arguments(p):
    p.add_argument("--spec", required=True, metavar="SPEC.json", help="core spec JSON (docs/CONTRACT.md section 2)")
    p.add_argument("--verilog", metavar="CORE.v", help="Verilog to prove (default: generated from the spec); its top "
                                                       "name comes from the CORE.json beside it when present")
    p.add_argument("--depth", type=int_range(1, MAX_DEPTH), default=None,
                   help="BMC depth in cycles (default: a reset, a whole history, the pipeline and a stall)")
    p.add_argument("--loads", type=int_range(0, MAX_LOADS), default=1,
                   help="runtime weights: weight sets the solver chooses and the proof writes through the "
                        "configuration port (register-map order, idle cycles allowed; a later set only while "
                        "no beat is in flight), each followed by any traffic (default 1; 0 skips the weights "
                        "proof; its time grows steeply with the core, see docs/CONTRACT.md section 6)")
    p.add_argument("--against", choices=["reference", "mac"], default="reference",
                   help="reference (default): against the formal reference model; mac: equivalence of the "
                        "shift core with the multiplier core of the same spec")
    p.add_argument("--induction", action="store_true",
                   help="also try k-induction of the stream proof at the same depth and say whether it "
                        "closes (it does for the parallel core with at most one pipeline register; docs/CONTRACT.md "
                        "section 6)")
    p.add_argument("--output-dir", type=Path, default=DEFAULT_OUTPUT,
                   help=f"working folder (sby jobs, counterexample.vcd / .json); default {DEFAULT_OUTPUT}")


def run(args):
    from shiftpsn.sim.cosim import from_file, generated
    from shiftpsn.sim.formal import check_tools, prove, prove_equivalence

    spec = CoreSpec.load(args.spec)
    if args.against == "mac" and spec.arith != "shift":
        raise UsageError("--against mac proves a shift core; the spec says arith = mac")
    check_tools()  # a missing tool is exit 2 before any work
    check_not_input(args.output_dir, [args.spec, args.verilog], "--output-dir")
    check_writable_dir(args.output_dir)
    core = from_file(args.verilog, spec) if args.verilog else generated(spec)
    s = core.spec
    print(f"prove: {core.top}: C={s.channels} k={s.order} d={s.dilation} W={s.input_width} "
          f"exp=[{s.exp_min},{s.exp_max}] {s.weights} {s.arith} pipeline={s.pipeline}; "
          f"{'equivalence with the mac core' if args.against == 'mac' else 'against the reference'}", flush=True)
    if args.against == "mac":
        result = prove_equivalence(s, depth=args.depth, loads=args.loads, output_dir=args.output_dir,
                                   verilog=core.verilog, top=core.top, induction=args.induction)
    else:
        result = prove(core, depth=args.depth, loads=args.loads, output_dir=args.output_dir,
                       induction=args.induction)
    for d in result.detail:
        note = f" ({d['note']})" if d.get("note") else ""
        print(f"prove: {d['mode']} proof, {d['method']} at depth {d['depth']}: {d['status']}{note} "
              f"[{d['seconds']:.1f} s]", flush=True)
    if result.status != "pass":
        raise CheckFailed(f"{core.top}: {result.kind}: {result.summary()}")
    print(f"prove: PASS {core.top} ({result.kind}): {result.summary()}")
    return 0
