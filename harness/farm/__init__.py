"""The farm: cells queued as jobs on procrastinate (a job queue on the lab's PostgreSQL, the
same database as the results store), and a worker on every hypervisor host that takes the
jobs it can serve (docs/nightly.md, "The farm")."""
