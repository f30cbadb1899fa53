"""What a plan names, found: each target's spec checked (a lab config must exist and load),
each build's manifest read, and the plan expanded into its cells."""

from __future__ import annotations

import importlib
import itertools
import os
import tomllib
from pathlib import Path
from typing import Any

from harness.errors import ConfigError, HarnessError
from harness.plan.load import LoadedPlan
from harness.plan.model import Build, Cell

__all__ = ["check_references", "expand", "lab_config", "pool_size"]

MODEL_BUILD = "sim-model"
"""The build id of the simulator's own model of hsprobe (a build with no manifest)."""


def _resolve(base: Path, path: str) -> str:
    p = Path(os.path.expanduser(path))
    return str(p if p.is_absolute() else (base / p).resolve())


def resolved_spec(base: Path, spec: str) -> str:
    """`spec` with a lab config path made absolute (relative to the plan file)."""
    name, _, rest = spec.partition(":")
    if name != "lab" or not rest:
        return spec
    config, comma, options = rest.partition(",")
    if "=" in config:  # lab:config=PATH,...
        key, _, value = config.partition("=")
        return f"lab:{key}={_resolve(base, value)}{comma}{options}"
    return f"lab:{_resolve(base, config)}{comma}{options}"


def lab_config(spec: str) -> str:
    rest = spec.split(":", 1)[1] if ":" in spec else ""
    first = rest.split(",")[0]
    return first.partition("=")[2] if "=" in first else first


def pool_size(spec: str) -> int:
    """How many machines a target has: a lab config's [pool] size (1 if unset)."""
    try:
        data: dict[str, Any] = tomllib.loads(Path(lab_config(spec)).read_text())
    except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
        return 1
    pool = data.get("pool")
    size = pool.get("size", 1) if isinstance(pool, dict) else 1
    return size if isinstance(size, int) and size >= 1 else 1


def _check_target(name: str, spec: str) -> None:
    from harness.targets import open_target, parse_spec

    where = f"field targets.{name}"
    try:
        kind, _ = parse_spec(spec)
    except ConfigError as e:
        raise ConfigError(f"{where}: {e}; fix: use sim[:options] or lab:CONFIG") from None
    if kind == "sim":
        try:
            open_target(spec).close()
        except HarnessError as e:
            raise ConfigError(
                f"{where}: {e}; fix: see `harness run --help` for sim options"
            ) from None
        return
    config = lab_config(spec)
    if not config or not Path(config).is_file():
        raise ConfigError(
            f"{where}: lab config {config or '(none)'} does not exist; fix: "
            "name a lab config file (relative to the plan file), e.g. "
            "lab:../lab/linux-standin.toml"
        )
    try:  # the lab target's own checks, where it is installed
        loader = importlib.import_module("harness.lab.config").load_lab_config
    except (ImportError, AttributeError):
        return
    try:
        loader(config)
    except HarnessError as e:
        raise ConfigError(f"{where}: {e}") from None


def _driver(name: str, build: Build, base: Path) -> tuple[dict[str, str], str]:
    from harness.driver.artifact import load_manifest

    if build.manifest is None:
        return {}, MODEL_BUILD
    path = Path(_resolve(base, build.manifest))
    if not path.is_file():
        raise ConfigError(
            f"field builds.{name}.manifest: {path} does not exist; fix: build "
            "it (make -C drivers) or point at an existing manifest.json"
        )
    try:
        manifest = load_manifest(path)
    except HarnessError as e:
        raise ConfigError(f"field builds.{name}.manifest: {e}") from None
    return {a.name: a.sha256 for a in manifest.artifacts}, manifest.build_id


def check_references(loaded: LoadedPlan) -> None:
    """Every target and build the plan's cells use exists and loads."""
    plan = loaded.plan
    used_targets = {t for m in plan.cells for t in m.targets}
    used_builds = {b for m in plan.cells for b in m.builds}
    for name in sorted(used_targets):
        _check_target(name, resolved_spec(loaded.base, plan.targets[name]))
    for name in sorted(used_builds):
        _driver(name, plan.builds[name], loaded.base)


def expand(loaded: LoadedPlan) -> list[Cell]:
    """The plan's cells in plan order, each key once (a later matrix naming the same cell
    again may only make it required)."""
    plan = loaded.plan
    drivers = {
        b: _driver(b, plan.builds[b], loaded.base)
        for b in {b for m in plan.cells for b in m.builds}
    }
    cells: dict[str, Cell] = {}
    for matrix in plan.cells:
        for target, build, convention, selection in itertools.product(
            matrix.targets, matrix.builds, matrix.conventions, matrix.selections
        ):
            spec = resolved_spec(loaded.base, plan.targets[target])
            key = f"{target}/{build}/{convention}/{selection}"
            driver, build_id = drivers[build]
            cell = Cell(
                key=key,
                target=target,
                spec=spec,
                build=build,
                driver=driver,
                build_id=build_id,
                convention=None if convention == "target" else convention,
                selection=selection,
                keyword=plan.selections[selection],
                repeat=matrix.repeat,
                seed=plan.seed,
                required=matrix.required or (key in cells and cells[key].required),
                kind="lab" if spec.startswith("lab") else "sim",
            )
            cells[key] = cell
    return list(cells.values())
