"""Render reply templates from content/templates (jinja2, markdown output)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

from bot.answers.content import Problem

CACHE_MAX = 4096


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
        self._cache: dict[tuple[Any, ...], str] = {}

    def __call__(self, name: str, **context: Any) -> str:
        """Render template `name` and tidy blank lines; a repeated context is served cached.

        Templates are pure functions of their context (bundled, never reloaded), and most
        replies are one entry for one audience, so the cache is small and hits nearly always.
        Contexts holding unhashable values (lists) are rendered every time.
        """
        try:
            key = (name, *sorted(context.items()))
            cached = self._cache.get(key)
        except TypeError:
            return self._render(name, context)
        if cached is None:
            if len(self._cache) >= CACHE_MAX:
                self._cache.clear()
            cached = self._cache[key] = self._render(name, context)
        return cached

    def _render(self, name: str, context: dict[str, Any]) -> str:
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
