"""The `lab` target: a Windows guest running hsprobe, reached over SSH, reverted per scenario.

Not implemented yet. Its parts exist separately (the libvirt pool in harness.vm, the SSH
transport in harness.guest, the driver and hsprobectl in drivers/, the debuggers), but the
target that maps each action to an hsprobectl call in a leased guest has not been written,
and there is no Windows guest on the build machines to prove it against. Until then it
refuses to run rather than pretend.
"""

from __future__ import annotations

from harness.contract.trace import Expectations
from harness.errors import BackendUnavailableError

__all__ = ["LabTarget"]


class LabTarget:
    name = "lab"

    @classmethod
    def from_options(cls, options: dict[str, str], *, seed: int = 0,
                     expectations: Expectations | None = None) -> LabTarget:
        raise BackendUnavailableError(
            "the lab target is not implemented yet: running the suite on a Windows guest needs "
            "the lab target that drives hsprobectl over SSH (see README, 'Status'); "
            "use --target sim, or check traces recorded by hsprobectl with `harness check`"
        )
