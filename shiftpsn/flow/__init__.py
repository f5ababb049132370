"""``shiftpsn flow``: the main job, as a list of steps (FINN's builder style).

    train -> export -> generate -> cosim -> synth -> summary

Each step is a function (``shiftpsn.flow.steps.Step``) that verifies its output against the step before
it and is timed; a step whose inputs did not change since the last run reuses its outputs (the one
step cache, :func:`shiftpsn.flow.steps.cached`; a failed step is never cached). Two step lists share
the machinery, the training step and the configuration:

* :data:`shiftpsn.flow.network.NETWORK_STEPS` (``--mode network``, the default, ``make demo``): a whole
  trained network in integers, its Verilog and mac baseline, every test sample co-simulated, iCE40 and
  ASIC reports;
* :data:`shiftpsn.flow.layer.LAYER_STEPS` (``--mode layer``, the flow of 0.1): one trained neuron layer
  as a core.

One configuration, :class:`shiftpsn.flow.config.FlowConfig`, holds every default (those that differ
between the modes in :data:`~shiftpsn.flow.config.MODE_DEFAULTS`). DIR/summary.json and summary.md are
docs/CONTRACT.md section 4's.
"""

from __future__ import annotations

from pathlib import Path

from shiftpsn.base.errors import UsageError
from shiftpsn.base.paths import atomic_write, json_text

from .config import MODE_DEFAULTS, MODES, FlowConfig
from .steps import Done, Step, cached, check_tools, run_steps

__all__ = ["FlowConfig", "MODES", "MODE_DEFAULTS", "run_flow", "steps_of", "Step", "Done", "cached"]


def steps_of(mode: str) -> list[Step]:
    """The step list of a mode."""
    if mode == "layer":
        from .layer import LAYER_STEPS

        return LAYER_STEPS
    from .network import NETWORK_STEPS

    return NETWORK_STEPS


def run_flow(cfg: FlowConfig) -> dict:
    """Run every step of ``cfg.mode``; return the summary dict (also written to DIR/summary.json)."""
    out = Path(cfg.output_dir)
    if out.exists() and not out.is_dir():
        raise UsageError(f"--output-dir {out} exists and is not a directory")
    out.mkdir(parents=True, exist_ok=True)
    check_tools(cfg)
    summary: dict = {"mode": cfg.mode, "config": cfg.to_dict()}
    s = run_steps(cfg, steps_of(cfg.mode), {"out": out, "summary": summary})
    atomic_write(out / "summary.json", json_text(s))
    total = s["stage_seconds"]["total"]
    reused = f" ({', '.join(s['reused_steps'])} reused)" if s["reused_steps"] else ""
    if cfg.mode == "network":
        a = s["accuracy"]
        print(f"[flow] all stages done in {total:.1f} s{reused}: accuracy rtl {a['rtl']:.4f} = integer "
              f"{a['integer']:.4f} (quantized {a['quantized']:.4f}, float {a['float']:.4f}); read "
              f"{out / 'summary.md'}", flush=True)
    else:
        print(f"[flow] all stages done in {total:.1f} s{reused}; read {out / 'summary.md'}", flush=True)
    return s
