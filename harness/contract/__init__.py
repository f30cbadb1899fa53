"""The DriverProxy contract as data and pure functions: no I/O, no VMs, no debuggers.

The same checker judges the simulator and a real kernel.
"""
