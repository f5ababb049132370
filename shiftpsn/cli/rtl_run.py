"""``shiftpsn rtl-run --spec S --input X.npy --output OUT.npz [--verilog CORE.v] [--sim icarus|verilator]``:
run a stimulus through the Verilog in a real simulator and write what the hardware produced (the
``shiftpsn golden`` .npz format). Runtime weights are loaded through the configuration port."""

from pathlib import Path

from shiftpsn.base.errors import UsageError
from shiftpsn.base.spec import CoreSpec
from shiftpsn.base.stimulus import load_stimulus, save_results

from shiftpsn.sim.runner import SIMULATORS


def add_arguments(p):
    p.add_argument("--spec", required=True, help="core spec JSON (docs/CONTRACT.md section 2)")
    p.add_argument("--input", required=True, help="stimulus .npy, integer (T, C) or (B, T, C)")
    p.add_argument("--output", required=True, help="results .npz (spikes uint8, acc int64)")
    p.add_argument("--verilog", help="Verilog of the core (default: generated from the spec); its "
                                     "top name comes from the CORE.json beside it when present")
    p.add_argument("--sim", default="icarus", choices=SIMULATORS, help="simulator (default icarus)")


def _progress(msg: str) -> None:
    print(f"rtl-run: {msg}", flush=True)


def run(args):
    from shiftpsn.sim.cosim import file_core, generated_core, rtl_run
    from shiftpsn.sim.runner import check_simulator

    spec = CoreSpec.load(args.spec)
    x, shape = load_stimulus(args.input, spec)
    out = Path(args.output)
    if not out.parent.is_dir():
        raise UsageError(f"output directory does not exist: {out.parent}")
    check_simulator(args.sim)
    core = file_core(args.verilog, spec) if args.verilog else generated_core(spec)
    B, T, C = x.shape
    _progress(f"{B} sequence(s) x {T} steps x {C} channels on {args.sim} ({core.top})")
    spikes, acc = rtl_run(core, x, sim=args.sim, progress=_progress)
    save_results(out, spikes, acc, shape)
    print(f"rtl-run: {B * T} beats through {core.top} on {args.sim} -> {out}")
