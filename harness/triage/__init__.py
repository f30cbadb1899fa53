"""Crash triage: analyse guest crashes (Windows kernel dumps, !analyze output, Linux oopses and
ELF cores), give each a normalised signature, and bucket them so one bug is one entry.

    crash = analyse_path(Path("out/run/crashes/swap_while_busy-r0"))
    print(crash.title, crash.bucket)

Heavy readers (kdmp-parser, pyelftools) are imported only when a dump of their kind is read.
"""

from harness.triage.model import Crash, Frame, Unanalysable, bucket_id

__all__ = ["Crash", "Frame", "Unanalysable", "bucket_id"]
