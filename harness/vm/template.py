"""Renders libvirt XML from the Jinja2 templates in vm/templates; a broken template or a
missing variable is one ConfigError naming the template and line."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from harness.errors import BackendUnavailableError, ConfigError

__all__ = ["check_template", "render"]


def check_template(
    template_dir: Path, template: str, where: str = "", what: str = "template"
) -> Path:
    """The path of template `template`, or a ConfigError (prefixed with `where`, calling the
    template a `what`) listing the ones there are."""
    path = template_dir / f"{template}.xml.j2"
    if not path.is_file():
        prefix = f"{where}: " if where else ""
        if not template_dir.is_dir():
            raise ConfigError(
                f"{prefix}unknown {what} {template!r}: the template directory "
                f"{template_dir} does not exist; set template_dir"
            )
        known = sorted(p.name.removesuffix(".xml.j2") for p in template_dir.glob("[!_]*.xml.j2"))
        raise ConfigError(
            f"{prefix}unknown {what} {template!r}: no template {path}; "
            f"known in {template_dir}: {', '.join(known)}"
        )
    return path


def render(template_dir: Path, template: str, **context: Any) -> str:
    """Render `template_dir/TEMPLATE.xml.j2` with `context`; undefined variables are errors."""
    try:
        import jinja2
    except ImportError:
        raise BackendUnavailableError(
            "rendering VM templates needs jinja2: install the vm extra: pip install -e '.[vm]'"
        ) from None
    path = check_template(template_dir, template)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(template_dir)),
        undefined=jinja2.StrictUndefined,
        autoescape=jinja2.select_autoescape(["j2"], default=True),
        keep_trailing_newline=True,
    )
    try:
        return env.get_template(path.name).render(**context)
    except jinja2.TemplateSyntaxError as e:
        where = f"{e.filename or path}:{e.lineno}"
        raise ConfigError(f"template {where}: {e.message}; fix the template") from None
    except jinja2.UndefinedError as e:
        raise ConfigError(
            f"template {path}: {e.message}; pass that variable or remove it from the template"
        ) from None
