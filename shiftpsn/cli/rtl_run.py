"""``shiftpsn rtl-run --spec S --input X.npy --output OUT.npz [--verilog CORE.v] [--sim icarus|verilator]``:
run a stimulus through the Verilog in a real simulator and write what the hardware produced (the
``shiftpsn golden`` .npz format). Runtime weights are loaded through the configuration port.

``shiftpsn rtl-run --net NET.json --input X.npy --output OUT.npz [--verilog NET.v] [--sim ...]``: the
same for a whole network (docs/CONTRACT.md section 5): ``logits``, ``classes`` and every neuron layer's
``spikes_L`` as the hardware produced them (``shiftpsn.sim.cosim``, as for a core)."""

from shiftpsn.base import limits
from shiftpsn.base.spec import CoreSpec
from shiftpsn.base.stimulus import check_results_path, load_stimulus, save_results

from .args import add_sim, add_spec_or_net, add_stimulus_io


def add_arguments(p):
    add_spec_or_net(p)
    add_stimulus_io(p)
    p.add_argument("--verilog", help="Verilog of the core (default: generated from the spec); its "
                                     "top name comes from the CORE.json beside it when present; with "
                                     "--net, of the network, with NET.network.json beside it")
    add_sim(p)


def _progress(msg: str) -> None:
    print(f"rtl-run: {msg}", flush=True)


def run(args):
    if args.net is not None:
        return _run_network(args)
    from shiftpsn.sim.cosim import from_file, generated, rtl_run
    from shiftpsn.sim.runner import check_simulator

    out = check_results_path(args.output, inputs=[args.spec, args.input, args.verilog])
    spec = CoreSpec.load(args.spec)
    x, shape = load_stimulus(args.input, spec)
    limits.check_at_most(x.shape[0] * x.shape[1] * spec.beats_per_step, limits.MAX_SIM_BEATS,
                         "beats to simulate B*T*beats_per_step")
    check_simulator(args.sim)
    core = from_file(args.verilog, spec) if args.verilog else generated(spec)
    B, T = x.shape[:2]
    _progress(f"{B} sequence(s) x {T} steps x {spec.neurons} neurons on {args.sim} ({core.top})")
    r = rtl_run(core, x, sim=args.sim, progress=_progress)
    save_results(out, r["spikes"], r["acc"], shape)
    print(f"rtl-run: {B * T * spec.beats_per_step} beats through {core.top} on {args.sim} -> {out}")


def _run_network(args):
    from shiftpsn.base.network import NetworkSpec, load_network_input, save_network_results
    from shiftpsn.sim.cosim import from_file, generated, rtl_run
    from shiftpsn.sim.runner import check_simulator

    out = check_results_path(args.output, inputs=[args.net, args.input, args.verilog])
    net = NetworkSpec.load(args.net)
    x = load_network_input(args.input, net)
    B, T = x.shape[:2]
    limits.check_at_most(B * T, limits.MAX_SIM_BEATS, "time steps to simulate B*T")
    check_simulator(args.sim)
    rtl = from_file(args.verilog, net) if args.verilog else generated(net, progress=_progress)
    _progress(f"{B} sequence(s) x {T} steps through {len(net.layers)} layers on {args.sim} ({rtl.top})")
    r = rtl_run(rtl, x, sim=args.sim, progress=_progress)
    save_network_results(out, r["logits"], r["classes"],
                         {L: r[f"spikes_{L}"] for L in net.neuron_indices})
    print(f"rtl-run: {B * T} time steps through {rtl.top} on {args.sim} -> {out}")
