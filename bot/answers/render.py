"""Render reply templates from content/templates (jinja2, markdown output)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from bot.answers.content import Problem


class Renderer:
    """Jinja2 environment over the content templates; undefined names are errors."""

    def __init__(self, templates_dir: Path) -> None:
        self.templates_dir = templates_dir
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader(templates_dir),
            undefined=jinja2.StrictUndefined,
            autoescape=False,  # chat markdown, not HTML; pages escape when they show it
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=False,
            auto_reload=False,  # bundled templates: no stat() of the file on every reply
        )

    def __call__(self, name: str, **context: Any) -> str:
        """Render template `name` and tidy blank lines."""
        text = self._env.get_template(name).render(**context)
        lines = [line.rstrip() for line in text.strip().splitlines()]
        tidy: list[str] = []
        for line in lines:
            if line or (tidy and tidy[-1]):
                tidy.append(line)
        return "\n".join(tidy)

    def problems(self) -> list[Problem]:
        """Return a problem for every template that does not compile."""
        found: list[Problem] = []
        for path in sorted(self.templates_dir.glob("*.j2")):
            try:
                self._env.get_template(path.name)
            except jinja2.TemplateSyntaxError as exc:
                found.append(Problem(path, exc.lineno, "template", exc.message or "syntax error"))
        if not found and not any(self.templates_dir.glob("*.j2")):
            found.append(Problem(self.templates_dir, 1, "-", "no templates found"))
        return found
