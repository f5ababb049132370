"""The ``shiftpsn`` command line (docs/CONTRACT.md section 4).

Each subcommand is one module of this package, ``shiftpsn/cli/<name>.py`` (``rtl-run`` ->
``rtl_run.py``; ``synth --net`` has its own ``synth_net.py``), with ``add_arguments(parser)`` and
``run(args)``; it parses and checks the user's input and calls the package that does the job (golden,
hdl, sim, synth, flow). Options shared by several subcommands are in ``args.py``. This dispatcher
imports only the module that is asked for, so ``shiftpsn golden`` does not pay for torch or amaranth.
Exit codes: 0 success, 2 bad input (one line, no traceback), 1 a check that failed.
"""

from __future__ import annotations

import argparse
import importlib
import re
import sys

from shiftpsn import __version__
from shiftpsn.base.errors import CheckFailed, UsageError
from shiftpsn.base.paths import (allow_replacing, ensure_tool_caches, forget_created_dirs,
                                 remove_created_empty_dirs)

#: subcommand -> (module, one-line help)
COMMANDS = {
    "golden": ("shiftpsn.cli.golden", "run the bit-exact integer model of a core (--spec) or network (--net)"),
    "generate": ("shiftpsn.cli.generate", "generate the Verilog and its description of a core (--spec) or network (--net)"),
    "rtl-run": ("shiftpsn.cli.rtl_run", "run a stimulus through the Verilog in a real simulator"),
    "regress": ("shiftpsn.cli.regress", "co-simulate the Verilog against the golden model"),
    "synth": ("shiftpsn.cli.synth", "synthesize area / timing / energy reports"),
    "train": ("shiftpsn.cli.train", "train a network with a spiking neuron on a digits or MNIST task"),
    "export": ("shiftpsn.cli.export", "export a trained neuron layer to a core spec (--network: the whole network)"),
    "autoselect": ("shiftpsn.cli.autoselect", "time every acceleration method (Algorithm 1) and pick one"),
    "prove": ("shiftpsn.cli.prove", "formal proof of a core against the reference (SymbiYosys)"),
    "flow": ("shiftpsn.cli.flow", "the main job: train, export, generate, co-simulate, synthesize"),
    "nir": ("shiftpsn.cli.nir", "export a network as a NIR graph, or import a NIR graph as a network"),
}


class _Parser(argparse.ArgumentParser):
    """argparse with a one-line error message and exit code 2."""

    def error(self, message):  # noqa: D401 - argparse API
        # a range check of shiftpsn.cli.args reads "--order must be >= 1, got 0"
        m = re.match(r"argument (-[-\w]+)(?:/[-\w]+)*: (must .*)$", message, flags=re.S)
        if m:
            message = f"{m.group(1)} {m.group(2)}"
        sys.stderr.write(f"{self.prog}: error: {_one_line(message)}\n")
        sys.exit(2)


def _usage() -> str:
    """The top-level help: one subcommand per line."""
    width = max(map(len, COMMANDS))
    lines = ["usage: shiftpsn COMMAND [options]   (shiftpsn COMMAND --help for a command's options)",
             "",
             "Reference hardware flow for the mul-free channel-wise Parallel Spiking Neuron.",
             "",
             "commands:"]
    lines += [f"  {name:<{width}}  {help_text}" for name, (_, help_text) in COMMANDS.items()]
    lines += ["", "options:", "  -h, --help     show this help", "  --version      print the version",
              "", "Exit codes: 0 success, 1 a check failed, 2 bad input or a missing tool.",
              "The contract (spec keys, files, ports, commands): docs/CONTRACT.md"]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        (sys.stdout if argv else sys.stderr).write(_usage())
        return 0 if argv else 2
    if argv[0] == "--version":
        print(f"shiftpsn {__version__}")
        return 0
    name = argv[0]
    if name not in COMMANDS:
        sys.stderr.write(f"shiftpsn: error: unknown command {name!r} (choose from {', '.join(COMMANDS)})\n")
        return 2
    module_name, help_text = COMMANDS[name]
    module = importlib.import_module(module_name)
    parser = _Parser(prog=f"shiftpsn {name}", description=help_text)
    module.add_arguments(parser)
    parser.add_argument("--force", action="store_true",
                        help="replace existing output files that shiftpsn did not write (docs/CONTRACT.md section 3)")
    try:
        args = parser.parse_args(argv[1:])
    except SystemExit as e:  # a bad option (one line already written) or --help
        return e.code if isinstance(e.code, int) else 2
    # a read-only HOME must not stop the WebAssembly tools (their caches move to a temp folder)
    ensure_tool_caches()
    allow_replacing(args.force)
    forget_created_dirs()
    rc = _run(name, module, args)
    if rc != 0:
        remove_created_empty_dirs()  # a failed run leaves no empty output folder behind
    forget_created_dirs()
    return rc


def _run(name: str, module, args) -> int:
    """``module.run(args)`` with every error turned into its exit code and one line."""
    try:
        rc = module.run(args)
    except UsageError as e:
        sys.stderr.write(f"shiftpsn {name}: error: {_one_line(e)}\n")
        return 2
    except OSError as e:  # a path the user gave that the file system refuses
        where = f": {e.filename}" if e.filename else ""
        sys.stderr.write(f"shiftpsn {name}: error: {_one_line(e.strerror or e)}{where}\n")
        return 2
    except MemoryError:  # the one place where an allocation that cannot succeed becomes bad input
        sys.stderr.write(f"shiftpsn {name}: error: out of memory; the input is too large for this "
                         f"machine (limits: docs/CONTRACT.md section 4)\n")
        return 2
    except RecursionError:
        sys.stderr.write(f"shiftpsn {name}: error: input nested too deeply\n")
        return 2
    except CheckFailed as e:
        sys.stderr.write(f"shiftpsn {name}: FAIL: {_one_line(e)}\n")
        return 1
    except KeyboardInterrupt:
        sys.stderr.write(f"shiftpsn {name}: interrupted\n")
        return 130
    return int(rc or 0)


def _one_line(e) -> str:
    """A message as one line (a tool's multi-line error joined with '; ')."""
    return "; ".join(ln.strip() for ln in str(e).splitlines() if ln.strip())


if __name__ == "__main__":
    sys.exit(main())
