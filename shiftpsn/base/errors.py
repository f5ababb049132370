"""Exceptions that the command line maps onto exit codes (docs/CONTRACT.md section 4).

``UsageError`` (exit 2) is bad input: a spec, stimulus, path or missing tool. Its message is one line
that names the problem. ``CheckFailed`` (exit 1) is a check that ran and failed, for example a
co-simulation mismatch.
"""


class UsageError(ValueError):
    """Bad input from the user; the message is one line naming what is wrong (exit code 2)."""


class SpecError(UsageError):
    """A core spec that is wrong in type, range or shape."""


class StimulusError(UsageError):
    """A stimulus of the wrong dtype, shape or value range."""


class ToolMissing(UsageError):
    """An external tool (simulator, synthesizer, liberty) is not installed."""

    def __init__(self, tool: str, install: str):
        super().__init__(f"{tool} not found; install it with: {install}")
        self.tool = tool
        self.install = install


class CheckFailed(Exception):
    """A check ran and failed (exit code 1), e.g. RTL output differs from the golden model."""
