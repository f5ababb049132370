"""The ``shiftpsn`` command line (INTERFACE.md section 4).

Each subcommand lives in the package that does its job, in a module with ``add_arguments(parser)``
and ``run(args)``; this dispatcher imports only the one that is asked for, so ``shiftpsn golden``
does not pay for torch or amaranth. Exit codes: 0 success, 2 bad input (one line, no traceback),
1 a check that failed.
"""

from __future__ import annotations

import argparse
import importlib
import sys

from .errors import CheckFailed, UsageError

#: subcommand -> (module, one-line help)
COMMANDS = {
    "golden": ("golden.cmd_golden", "run the bit-exact integer model on a stimulus"),
    "generate": ("hdl.cmd_generate", "generate the core's Verilog (and CORE.json) from a spec"),
    "rtl-run": ("sim.cmd_rtl_run", "run a stimulus through the Verilog in a real simulator"),
    "regress": ("sim.cmd_regress", "co-simulate the Verilog against the golden model"),
    "synth": ("synth.cmd_synth", "synthesize area / timing / energy reports"),
    "train": ("golden.cmd_train", "train a network with a spiking neuron on a digits task"),
    "export": ("golden.cmd_export", "export a trained neuron layer to a core spec"),
    "autoselect": ("golden.cmd_autoselect", "time every acceleration method (Algorithm 1) and pick one"),
    "flow": ("shiftpsn.cmd_flow", "the main job: train, export, generate, co-simulate, synthesize"),
}


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error message and exit code 2."""

    def error(self, message):  # noqa: D401 - argparse API
        sys.stderr.write(f"{self.prog}: error: {message}\n")
        sys.exit(2)


def _top_parser() -> _Parser:
    p = _Parser(prog="shiftpsn", description="Reference hardware flow for the mul-free channel-wise PSN.")
    p.add_argument("command", choices=sorted(COMMANDS), metavar="COMMAND",
                   help="; ".join(f"{k}: {v[1]}" for k, v in COMMANDS.items()))
    return p


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        _top_parser().print_help()
        return 0 if argv else 2
    name = argv[0]
    if name not in COMMANDS:
        _top_parser().parse_args(argv[:1])  # prints a one-line error, exits 2
    module_name, help_text = COMMANDS[name]
    module = importlib.import_module(module_name)
    parser = _Parser(prog=f"shiftpsn {name}", description=help_text)
    module.add_arguments(parser)
    args = parser.parse_args(argv[1:])
    try:
        rc = module.run(args)
    except UsageError as e:
        sys.stderr.write(f"shiftpsn {name}: error: {e}\n")
        return 2
    except OSError as e:  # a path the user gave that the file system refuses
        where = f": {e.filename}" if e.filename else ""
        sys.stderr.write(f"shiftpsn {name}: error: {e.strerror or e}{where}\n")
        return 2
    except CheckFailed as e:
        sys.stderr.write(f"shiftpsn {name}: FAIL: {e}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write(f"shiftpsn {name}: interrupted\n")
        return 130
    return int(rc or 0)


if __name__ == "__main__":
    sys.exit(main())
