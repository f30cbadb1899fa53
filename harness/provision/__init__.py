"""Provisioning the lab with Ansible (ansible/, docs/lab.md): the kept guests the roles define
(`guest`), running the playbooks with live progress and one summary (`runner`), and what the
lab holds (`status`). Nothing here is imported by `harness` unless a `lab` command runs."""
