"""Remote hosts over SSH: guests and Windows debugger hosts; guests over the QEMU guest agent.

`ssh.SshTransport` (needs the remote extra, imported lazily) runs quoted commands, opens
long-lived processes and copies files verified by checksum; `quoting` builds command lines
for sh, cmd.exe and PowerShell that no argument can break out of; `qga.GuestAgent` runs
programs and moves files through a guest's QEMU guest agent.
"""

from __future__ import annotations

__all__: list[str] = []
