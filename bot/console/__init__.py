"""The officers' console: accounts, sessions, the content queue, groups and the calendar.

Other pages join the console with `require(*roles)`, `render(request, template, **context)`
(templates extend "console/base.html.j2") and `request[CURRENT_USER]`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from bot.console.auth import CURRENT_USER, render, require
    from bot.console.routes import setup_console

__all__ = ["CURRENT_USER", "render", "require", "setup_console"]


def __getattr__(name: str) -> Any:
    """Load the web-facing parts on first use.

    They import bot.web, whose routes import this package, so loading them eagerly here would
    make `import bot.console.users` (the CLI) depend on the whole web app and close a cycle.
    """
    if name in ("CURRENT_USER", "render", "require"):
        from bot.console import auth

        return getattr(auth, name)
    if name == "setup_console":
        from bot.console import routes

        return routes.setup_console
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
