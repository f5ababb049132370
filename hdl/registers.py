"""Flip-flops of a component by role, counted from what its elaboration built rather than by a formula.

The component declares each register with its role where it makes it; after elaboration
:meth:`RegisterRoles.count` takes the bits the module's own ``sync`` statements drive (Amaranth's
record of drivers; submodules count their own) and sums them by role, refusing a driven register
without a role. Tests compare the totals with the flip-flops Yosys finds.
"""

from __future__ import annotations

from amaranth.hdl import Module, Signal

__all__ = ["RegisterRoles"]


class RegisterRoles:
    """Roles of the registers one module builds: ``reg = roles("stage1", Signal(...))``."""

    def __init__(self):
        self._roles: dict[int, tuple[Signal, str]] = {}

    def __call__(self, role: str, signal):
        """Declare ``signal`` (or a View on one) a register of ``role``; return it."""
        sig = signal.as_value() if hasattr(signal, "as_value") else signal
        self._roles[id(sig)] = (sig, role)
        return signal

    def signals(self, role: str) -> list[Signal]:
        return [sig for sig, r in self._roles.values() if r == role]

    def count(self, m: Module, roles: tuple[str, ...]) -> dict[str, int]:
        """Flip-flop bits per role (every role of ``roles``, 0 if none) that ``m``'s own sync statements
        drive. Raises RuntimeError for a register driven without a declared role."""
        out = dict.fromkeys(roles, 0)
        for sig, domains in m._driving.items():  # Amaranth's driver record: one domain per bit
            bits = sum(1 for d in domains if d == "sync")
            if not bits:
                continue
            if id(sig) not in self._roles:
                raise RuntimeError(f"register {sig.name} has no declared role")
            out[self._roles[id(sig)][1]] += bits
        return out
