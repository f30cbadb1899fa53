"""hotswap-harness: proves DriverProxy hot-swappable worker threads behave on real kernels.

Importing the package imports nothing heavy: backends (libvirt, paramiko, pykd) load
only when a command or a test asks for them by name.
"""

__version__ = "0.1.0"
__all__ = ["__version__"]
