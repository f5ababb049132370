"""``shiftpsn rtl-run --spec S --input X.npy --output OUT.npz [--verilog CORE.v] [--sim icarus|verilator]``:
run a stimulus through the Verilog in a real simulator and write what the hardware produced (the
``shiftpsn golden`` .npz format). Runtime weights are loaded through the configuration port."""

from shiftpsn.base import limits
from shiftpsn.base.spec import CoreSpec
from shiftpsn.base.stimulus import check_results_path, load_stimulus, save_results

from .args import add_sim, add_spec, add_stimulus_io


def add_arguments(p):
    add_spec(p)
    add_stimulus_io(p)
    p.add_argument("--verilog", help="Verilog of the core (default: generated from the spec); its "
                                     "top name comes from the CORE.json beside it when present")
    add_sim(p)


def _progress(msg: str) -> None:
    print(f"rtl-run: {msg}", flush=True)


def run(args):
    from shiftpsn.sim.cosim import file_core, generated_core, rtl_run
    from shiftpsn.sim.runner import check_simulator

    out = check_results_path(args.output, inputs=[args.spec, args.input, args.verilog])
    spec = CoreSpec.load(args.spec)
    x, shape = load_stimulus(args.input, spec)
    limits.check_at_most(x.shape[0] * x.shape[1], limits.MAX_SIM_BEATS, "beats to simulate B*T")
    check_simulator(args.sim)
    core = file_core(args.verilog, spec) if args.verilog else generated_core(spec)
    B, T, C = x.shape
    _progress(f"{B} sequence(s) x {T} steps x {C} channels on {args.sim} ({core.top})")
    spikes, acc = rtl_run(core, x, sim=args.sim, progress=_progress)
    save_results(out, spikes, acc, shape)
    print(f"rtl-run: {B * T} beats through {core.top} on {args.sim} -> {out}")
