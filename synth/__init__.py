"""Synthesis reports of shiftpsn cores: area, timing and energy, against a multiplier baseline.

``shiftpsn synth`` (:mod:`synth.cmd_synth`) drives: Yosys script templates per target
(``synth/scripts/*.ys``, :mod:`synth.yosys`), a place-and-route harness and nextpnr for iCE40 / ECP5
Fmax (:mod:`synth.harness`, :mod:`synth.nextpnr`), a standard-cell flow on a liberty with OpenSTA
timing and power (:mod:`synth.netlist`, :mod:`synth.sta`, :mod:`synth.liberty`), input switching
activity from a stimulus (:mod:`synth.activity`), the loaded configuration registers held for
steady-state power (:mod:`synth.config_state`), the papers' op-count energy model
(:mod:`synth.energy`), the report files (:mod:`synth.report`) and parameter sweeps
(:mod:`synth.sweep`). :mod:`synth.flow` ties one core through one target.
"""
