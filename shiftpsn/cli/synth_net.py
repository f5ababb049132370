"""``shiftpsn synth --net NET.json``: reports of a whole network (and its multiplier baseline).

    shiftpsn synth --net NET.json --target ice40|ecp5|asic[,...] --output-dir DIR [--baseline mac]
                   [--liberty LIB] [--clock-mhz 100] [--seed S] [--stimulus X.npy] [--steps T]
                   [--no-switching]

Generates the network's Verilog (DIR/shift/net.v, and DIR/mac/net.v for the baseline: every neuron layer
``arith = "mac"``, a multiplying first layer), synthesizes it per target (:mod:`shiftpsn.synth.network`:
Yosys cells, nextpnr placement on the smallest device that fits and Fmax, OpenSTA area and timing for
asic) and writes DIR/report.json and DIR/report.md (DIR/<target>/ with several targets).

With asic, the three energies (op-count model, OpenSTA, gate-level switching; per PSN neuron-time-step,
per synaptic operation, per sample) on a stimulus: ``--stimulus X.npy`` (B, T, I) network inputs, else
:data:`RANDOM_SEQUENCES` random sequences of ``--steps`` (default 8) steps (seed ``--seed``). The
gate-level simulation takes the first whole sequences of at most :data:`SWITCHING_STEPS` time steps
(at least one sequence): a network netlist simulates at a few hundred cycles per second.
"""

from __future__ import annotations

from shiftpsn.base.errors import CheckFailed, UsageError
from shiftpsn.base.paths import atomic_write, check_writable_dir, json_text
from shiftpsn.base.progress import Progress
from shiftpsn.base.tools import check_liberty

#: Figures compared between the network and its baseline (baseline / network).
RATIO_KEYS = ("luts", "ffs", "cells", "area_um2", "fmax_mhz", "bram", "dsp")
NET_TARGETS = ("ice40", "ecp5", "asic")
#: Energy figures compared (baseline / network) when the asic target has a stimulus.
ENERGY_KEYS = tuple(f"energy_pj_per_{per}_{kind}" for per in ("step", "synop", "sample")
                    for kind in ("model", "activity", "switching"))
#: Random sequences of the default stimulus; time steps the gate-level simulation takes at most.
RANDOM_SEQUENCES = 1
SWITCHING_STEPS = 8


def run_network(args, targets: tuple) -> int:
    from shiftpsn.base.network import NetworkSpec
    from shiftpsn.hdl.network import write_network_verilog
    from shiftpsn.synth.network import synthesize_network
    from shiftpsn.synth.tools import check_synth_tools

    given = [name for name in ("spec", "verilog", "sweep", "top") if getattr(args, name)]
    if given:
        raise UsageError(f"--net synthesizes a whole network: it cannot be combined with --{given[0]}")
    bad = [t for t in targets if t not in NET_TARGETS]
    if bad:
        raise UsageError(f"--net: network synthesis supports {', '.join(NET_TARGETS)}, not {bad[0]}")
    net = NetworkSpec.load(args.net)
    if args.baseline == "mac" and net.arith == "mac":
        raise UsageError("--baseline mac: the network is already the mac variant")
    lib = check_liberty(args.liberty) if "asic" in targets else None
    check_synth_tools(targets, activity=False)
    out = args.output_dir
    check_writable_dir(out)
    progress = Progress("synth", quiet=args.quiet)
    x, x_desc = _stimulus(args, net) if "asic" in targets and not args.no_switching else (None, "")
    variants = [("shift", net)] + ([("mac", net.with_arith("mac"))] if args.baseline else [])
    results = {}
    for name, variant in variants:
        verilog = out / name / "net.v"
        desc = write_network_verilog(variant, verilog)
        progress.say(f"{name}: wrote {verilog}")
        results[name] = synthesize_network(verilog, desc, targets, out / name, progress, liberty_path=lib,
                                           clock_mhz=args.clock_mhz, seed=args.seed, label=name, net=variant,
                                           stimulus=x, stimulus_desc=x_desc)
    for target in targets:
        rep = {"kind": "network", "network": str(args.net), **results["shift"][target]}
        if "mac" in results:
            rep["baseline"] = results["mac"][target]
            rep["ratio"] = _ratios(rep, rep["baseline"])
        d = out if len(targets) == 1 else out / target
        d.mkdir(parents=True, exist_ok=True)
        atomic_write(d / "report.json", json_text(rep))
        atomic_write(d / "report.md", _markdown(rep))
        progress.say(f"wrote {d / 'report.json'} and {d / 'report.md'}")
    failed = [e["error"] for r in results.values() for e in r.values() if e.get("error")]
    if failed:
        raise CheckFailed(f"{len(failed)} network synthesis run(s) failed (reports written): {failed[0]}")
    return 0


def _stimulus(args, net):
    """(x, description): the first whole sequences of ``--stimulus`` (at most SWITCHING_STEPS steps,
    at least one sequence), else RANDOM_SEQUENCES random sequences of ``--steps`` (default 8) steps."""
    import numpy as np

    from shiftpsn.base.network import load_network_input
    from shiftpsn.base.testing import random_network_input

    if args.stimulus is not None:
        x = load_network_input(args.stimulus, net)
        if args.steps:
            raise UsageError("--steps sets T of the random stimulus: it cannot be combined with --stimulus")
        keep = max(1, min(x.shape[0], SWITCHING_STEPS // x.shape[1]))
        return x[:keep], f"{args.stimulus}: the first {keep} of {x.shape[0]} sequences, {x.shape[1]} steps"
    T = args.steps or 8
    x = random_network_input(net, np.random.default_rng(args.seed), RANDOM_SEQUENCES, T)
    return x, f"random, {RANDOM_SEQUENCES} x {T} steps, seed {args.seed} (shiftpsn.base.testing.random_network_input)"


def _ratios(a: dict, b: dict) -> dict:
    out = {}
    for key in RATIO_KEYS + ENERGY_KEYS:
        x, y = a.get(key), b.get(key)
        out[key] = y / x if isinstance(x, (int, float)) and isinstance(y, (int, float)) and x else None
    return out


def _markdown(rep: dict) -> str:
    base = rep.get("baseline")
    lines = [f"# Network synthesis: {rep['target']}", "", f"Network `{rep['network']}`, top `{rep.get('top')}`.", "",
             "| figure | network | " + ("mac baseline | baseline / network |" if base else ""),
             "|---|---|" + ("---|---|" if base else "")]
    for key in RATIO_KEYS + ENERGY_KEYS + ("device",):
        a = rep.get(key)
        if a is None and not (base and base.get(key) is not None):
            continue
        row = f"| {key} | {_fmt(a)} |"
        if base:
            r = rep["ratio"].get(key)
            row += f" {_fmt(base.get(key))} | {f'{r:.2f}x' if r else '-'} |"
        lines.append(row)
    for name, e in (("network", rep), ("baseline", base or {})):
        if e.get("error"):
            lines.append(f"\nFAILED ({name}): {e['error']}")
    return "\n".join(lines) + "\n"


def _fmt(v) -> str:
    if v is None:
        return "-"
    return f"{v:.4g}" if isinstance(v, float) else str(v)
