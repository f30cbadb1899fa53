"""The lab target's parts (the target itself is harness.targets.lab):

- `config`: the typed lab config (TOML), secrets only by environment variable or file;
- `profile`, `linux`, `windows`: guest profiles, what is OS-specific as data and parsing;
- `channel`, `machine`, `session`: the command channel (SSH with a pinned host key, or the
  QEMU guest agent), a leased machine prepared once and reverted per scenario, the
  machines one process holds;
- `crash`, `watch`: crashes and hangs told apart, and the capture they leave;
- `debugger`, `introspect`, `winmodules`, `agent`: debuggers on lab machines;
- `selftest`: the stand-in's named kernel bugs through the suite.

Nothing here is imported by `harness` itself: libvirt and paramiko load only when a lab
target is opened.
"""
