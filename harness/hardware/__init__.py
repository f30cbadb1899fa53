"""Physical test machines: a pool of rack machines (harness.hardware.pool) behind the same
`Pool` / `Machine` Protocols as the libvirt VMs, from a typed inventory
(harness.hardware.inventory), powered through their BMCs (Redfish with sushy, IPMI with
pyghmi: harness.hardware.bmc), their consoles read from a console server or IPMI
serial-over-LAN (harness.hardware.netconsole), reset by reboot, and taken out of the pool when
they fail a health check (harness.hardware.health). docs/hardware.md tells the whole story.

Importing this package imports no BMC library: they load when a machine's BMC is first used
(the `hardware` extra).
"""
