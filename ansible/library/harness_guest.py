#!/usr/bin/python
"""Ansible module: a kept guest of a hotswap-harness pool (harness.provision.guest)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: harness_guest
short_description: A kept guest of a hotswap-harness machine pool
description:
  - Defines, boots, snapshots, stops or removes the guest of one slot of a pool, as the
    harness defines pool machines (vm/templates), marked kept so that C(harness vm gc) leaves
    it alone and C(harness vm list) shows it with its snapshots.
  - Runs the harness's own code, so the task must run on the harness's venv Python
    (C(ansible_python_interpreter) set to C(HARNESS_VENV/bin/python)).
options:
  pool:
    description: The pool config (TOML, docs/vm.md) on the hypervisor.
    type: path
    required: true
  slot:
    description: The pool slot; the guest is the domain hs-POOL-SLOT.
    type: int
    default: 0
  state:
    description:
      - C(info) reports the guest, C(started) boots it from the current definition
        (defining it afresh when the image or settings changed), C(snapshot) saves the
        running guest as O(snapshot), C(ready) does whatever of start and snapshot is missing
        (nothing when the guest is current and has the snapshot), C(stopped) powers it off,
        C(absent) undefines it with its snapshots and files.
    type: str
    choices: [info, started, snapshot, ready, stopped, absent]
    default: info
  snapshot:
    description: The snapshot name for O(state=snapshot) and O(state=ready).
    type: str
    default: ready
  wait:
    description: Wait for the pool's boot marker on the serial console when booting.
    type: bool
    default: true
  keep_running:
    description: After O(state=snapshot) or O(state=ready), leave the guest running.
    type: bool
    default: false
author: hotswap-harness
"""

EXAMPLES = r"""
- name: The stand-in guest of slot 0, booted once and saved as ready
  harness_guest:
    pool: /etc/hotswap-harness/standin.toml
    slot: 0
    state: ready
  vars:
    ansible_python_interpreter: /opt/hotswap-harness/src/.venv/bin/python
"""

RETURN = r"""
name: {description: The domain name, returned: always, type: str}
defined: {description: Whether the domain is defined, returned: always, type: bool}
current: {description: Defined from the pool's present definition, returned: always, type: bool}
running: {description: Whether the guest runs, returned: always, type: bool}
snapshots: {description: Its snapshot names, returned: always, type: list, elements: str}
addresses: {description: IPv4 addresses from libvirt's DHCP leases, returned: always, type: list,
            elements: str}
boot_seconds: {description: Seconds the boot took (0 without a boot), returned: always, type: float}
"""

import sys

from ansible.module_utils.basic import AnsibleModule


def _apply(guest, params):
    """(changed, boot seconds) after doing what `state` asks."""
    state = params["state"]
    if state == "started":
        return guest.start(params["wait"])
    if state == "snapshot":
        return guest.snapshot(params["snapshot"], stop=not params["keep_running"]), 0.0
    if state == "ready":
        return guest.ready(params["snapshot"], params["wait"], params["keep_running"]), 0.0
    if state == "stopped":
        return guest.stop(), 0.0
    if state == "absent":
        return guest.remove(), 0.0
    return False, 0.0


def _would_change(found, params):
    state = params["state"]
    return {"started": not (found.current and found.running), "snapshot": True,
            "ready": not found.ready(params["snapshot"]), "stopped": found.running,
            "absent": found.defined}.get(state, False)


def main():
    module = AnsibleModule(
        argument_spec={
            "pool": {"type": "path", "required": True},
            "slot": {"type": "int", "default": 0},
            "state": {"type": "str", "default": "info",
                      "choices": ["info", "started", "snapshot", "ready", "stopped", "absent"]},
            "snapshot": {"type": "str", "default": "ready"},
            "wait": {"type": "bool", "default": True},
            "keep_running": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    try:
        import msgspec

        from harness.errors import HarnessError
        from harness.provision.guest import KeptGuest
        from harness.vm.config import load_pool_config
    except ImportError as e:
        module.fail_json(msg=f"harness_guest: {sys.executable} cannot import the harness ({e}); "
                             "run the task with ansible_python_interpreter set to the harness "
                             "venv's python (hypervisor_harness_venv/bin/python)")
    params = module.params
    try:
        guest = KeptGuest(load_pool_config(params["pool"]), params["slot"])
        if module.check_mode:
            found = guest.inspect()
            changed, seconds = _would_change(found, params), 0.0
        else:
            changed, seconds = _apply(guest, params)
            found = guest.inspect()
    except HarnessError as e:
        module.fail_json(msg=str(e))
    module.exit_json(changed=changed, boot_seconds=round(seconds, 1), **msgspec.to_builtins(found))


if __name__ == "__main__":
    main()
