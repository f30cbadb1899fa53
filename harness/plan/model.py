"""The test plan as typed data: what a nightly run or a sign-off covers, and the `Cell`s it
expands into (docs/nightly.md).

    name = "nightly"
    [targets]                     # name -> target spec (sim:..., or lab:CONFIG)
    sim = "sim"
    standin = "lab:../lab/linux-standin.toml"
    [builds]                      # name -> driver build: a manifest, or {} for the simulator
    model = {}
    linux = { manifest = "../drivers/dist/linux/manifest.json" }
    [selections]                  # name -> pytest -k expression ("" = the whole suite)
    all = ""
    [[cells]]                     # one matrix: targets x builds x conventions x selections
    targets = ["sim"]
    builds = ["model"]
    selections = ["all"]
    required = true
"""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec

__all__ = ["Build", "Cell", "Matrix", "Plan"]

Name = Annotated[str, msgspec.Meta(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")]
Count = Annotated[int, msgspec.Meta(ge=1, le=10_000)]


class Build(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A driver build. Without a manifest: the simulator's own model of hsprobe."""

    manifest: str | None = None
    """drivers/dist/.../manifest.json (relative to the plan file): the files and their
    sha256, recorded with every result. Default: none (the simulator's model)."""


class Matrix(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One `[[cells]]` table: every combination of its lists is a cell."""

    targets: Annotated[list[Name], msgspec.Meta(min_length=1)]
    """Names from [targets]. Required."""
    builds: Annotated[list[Name], msgspec.Meta(min_length=1)]
    """Names from [builds]. Required."""
    selections: Annotated[list[Name], msgspec.Meta(min_length=1)] = msgspec.field(
        default_factory=lambda: ["all"]
    )
    """Names from [selections]. Default: ["all"] (the whole suite)."""
    conventions: list[Literal["documented", "inverted", "target"]] = msgspec.field(
        default_factory=lambda: ["target"]
    )
    """Return-value conventions the kernel is expected to implement; `target`: what the
    target expects of itself. Default: ["target"]."""
    repeat: Count = 1
    """Repetitions of every scenario in the cell (seeds SEED..SEED+N-1). Default: 1."""
    required: bool = False
    """Sign-off needs these cells to have passed. Default: false."""


class Plan(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """A whole plan file."""

    name: Name
    """The plan's name: runs, history and the one-run-at-a-time lock are kept per name.
    Default: the file's name without .toml."""
    targets: dict[Name, Annotated[str, msgspec.Meta(min_length=1, max_length=4096)]]
    """Target name -> spec (`sim...`, `lab:CONFIG`; a relative CONFIG is relative to the
    plan file). Required."""
    builds: dict[Name, Build]
    """Build name -> driver build. Required."""
    cells: Annotated[list[Matrix], msgspec.Meta(min_length=1)]
    """The matrices. Required."""
    selections: dict[Name, Annotated[str, msgspec.Meta(max_length=4096)]] = msgspec.field(
        default_factory=lambda: {"all": ""}
    )
    """Selection name -> pytest -k expression. Default: {all = ""}."""
    store: str = ""
    """Results store URL: sqlite:///PATH or postgresql+psycopg://... Default: a SQLite file
    results.sqlite in `runs`."""
    runs: str = "nightly"
    """Directory of the run directories (traces, reports), relative to the plan file.
    Default: nightly."""
    seed: Annotated[int, msgspec.Meta(ge=0, le=2**31)] = 0
    """Seed of every cell's first repetition. Default: 0."""
    parallel: Annotated[int, msgspec.Meta(ge=1, le=256)] = 2
    """Simulator cells at once (lab cells run up to their pool's size). Default: 2."""
    retries: Annotated[int, msgspec.Meta(ge=0, le=10)] = 2
    """Retries of a cell that hit an infrastructure error, each on another machine, before
    the error counts. Default: 2."""
    signoff_runs: Annotated[int, msgspec.Meta(ge=1, le=1000)] = 3
    """Sign-off: every required cell passed in each of the last N runs. Default: 3."""


class Cell(msgspec.Struct, frozen=True, kw_only=True):
    """One unit of work: a target, a build, an expected convention, a selection."""

    key: str
    """target/build/convention/selection: stable across runs, the unit of history."""
    target: str
    """The target's name in the plan."""
    spec: str
    """Its spec, paths resolved."""
    build: str
    driver: dict[str, str]
    """The build's files and their sha256 (empty for the simulator's model)."""
    build_id: str
    convention: str | None
    """Expected convention, or None for the target's own."""
    selection: str
    keyword: str
    repeat: int
    seed: int
    required: bool
    kind: Literal["sim", "lab"]

    @property
    def pool(self) -> str:
        """The machines this cell runs on: `sim`, or the lab config it names."""
        return "sim" if self.kind == "sim" else self.spec.split(":", 1)[1].split(",")[0]
