"""Synthesis reports of shiftpsn cores: area, timing and energy, against a multiplier baseline.

``shiftpsn synth`` (:mod:`shiftpsn.cli.synth`) drives: Yosys script templates per target
(``synth/scripts/*.ys``, :mod:`shiftpsn.synth.yosys`), a place-and-route harness and nextpnr for iCE40 / ECP5
Fmax (:mod:`shiftpsn.synth.harness`, :mod:`shiftpsn.synth.nextpnr`), a standard-cell flow on a liberty with OpenSTA
timing and power (:mod:`shiftpsn.synth.netlist`, :mod:`shiftpsn.synth.sta`, :mod:`shiftpsn.synth.liberty`), input switching
activity from a stimulus (:mod:`shiftpsn.synth.activity`), the loaded configuration registers held for
steady-state power (:mod:`shiftpsn.synth.config_state`), the papers' op-count energy model
(:mod:`shiftpsn.synth.energy`), the report files (:mod:`shiftpsn.synth.report`) and parameter sweeps
(:mod:`shiftpsn.synth.sweep`). :mod:`shiftpsn.synth.synthesize` ties one core through one target.
"""
