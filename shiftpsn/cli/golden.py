"""``shiftpsn golden --spec SPEC.json --input X.npy --output OUT.npz``: the integer model on a file.

``shiftpsn golden --net NET.json --input X.npy --output OUT.npz``: the integer model of a whole network
(docs/CONTRACT.md section 5): ``logits``, ``classes`` and ``spikes_L`` per neuron layer L.
"""

from shiftpsn.base.spec import CoreSpec
from shiftpsn.base.stimulus import check_results_path, load_stimulus, save_results

from .args import add_spec_or_net, add_stimulus_io


def add_arguments(p):
    add_spec_or_net(p)
    add_stimulus_io(p)


def run(args):
    if args.net is not None:
        return _run_network(args)
    from shiftpsn.golden.integer import accumulate, spike

    check_results_path(args.output, inputs=[args.spec, args.input])  # before any work
    spec = CoreSpec.load(args.spec)
    x, shape = load_stimulus(args.input, spec)
    acc = accumulate(spec, x)
    save_results(args.output, spike(spec, acc), acc, shape)
    print(f"golden: {x.shape[0]} sequence(s) x {x.shape[1]} steps x {spec.channels} channels -> {args.output}")


def _run_network(args):
    from shiftpsn.base.network import NetworkSpec, load_network_input, save_network_results
    from shiftpsn.golden.network import run_network

    net = NetworkSpec.load(args.net)
    x = load_network_input(args.input, net)
    r = run_network(net, x)
    save_network_results(args.output, r.logits, r.classes, r.spikes)
    print(f"golden: {x.shape[0]} sequence(s) x {x.shape[1]} steps through {len(net.layers)} layers "
          f"({len(r.spikes)} neuron layers) -> {args.output}")
