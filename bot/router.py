"""Routers: handlers registered with filters, dispatched with injection by parameter name."""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from typing import Any

from bot.models import Message, Reply

log = logging.getLogger(__name__)

FilterResult = bool | dict[str, Any] | None
Filter = Callable[..., FilterResult | Awaitable[FilterResult]]
HandlerFn = Callable[..., Awaitable[Reply | None]]
ErrorFn = Callable[..., Awaitable[Reply | None]]


@cache
def _signature(fn: Callable[..., Any]) -> tuple[tuple[tuple[str, bool], ...] | None, bool]:
    """Return (name, required) per parameter of `fn` (None when it takes **kwargs), and
    whether it is a coroutine function. Computed once per function: dispatch is hot."""
    params = inspect.signature(fn).parameters.values()
    is_coroutine = inspect.iscoroutinefunction(fn)
    if any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params):
        return None, is_coroutine
    return tuple((p.name, p.default is p.empty) for p in params), is_coroutine


async def call_injected(fn: Callable[..., Any], scope: Mapping[str, Any]) -> Any:
    """Call `fn` with the values from `scope` whose names its signature declares."""
    params, is_coroutine = _signature(fn)
    if params is None:
        kwargs = dict(scope)
    else:
        kwargs = {}
        for name, required in params:
            if name in scope:
                kwargs[name] = scope[name]
            elif required:
                missing = [n for n, needed in params if needed and n not in scope]
                raise TypeError(f"{fn.__qualname__} needs {missing}, which nothing provides")
    result = fn(**kwargs)
    if is_coroutine or inspect.isawaitable(result):
        return await result
    return result


@dataclass(frozen=True, slots=True)
class Handler:
    """A callback and the filters that must all pass before it runs."""

    callback: HandlerFn
    filters: tuple[Filter, ...]

    async def check(self, scope: Mapping[str, Any]) -> dict[str, Any] | None:
        """Return the extra arguments the filters provide, or None when one fails."""
        extra: dict[str, Any] = {}
        for filter_ in self.filters:
            result = await call_injected(filter_, {**scope, **extra} if extra else scope)
            if not result:
                return None
            if isinstance(result, dict):
                extra.update(result)
        return extra


class Router:
    """A named list of message handlers and error handlers."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.handlers: list[Handler] = []
        self.error_handlers: list[tuple[type[BaseException], ErrorFn]] = []

    def __repr__(self) -> str:
        return f"Router({self.name!r})"

    def message(self, *filters: Filter) -> Callable[[HandlerFn], HandlerFn]:
        """Register the decorated coroutine for messages that pass every filter."""

        def register(callback: HandlerFn) -> HandlerFn:
            self.handlers.append(Handler(callback, filters))
            return callback

        return register

    def errors(self, exc_type: type[BaseException]) -> Callable[[ErrorFn], ErrorFn]:
        """Register the decorated coroutine for exceptions of `exc_type` raised by handlers."""

        def register(callback: ErrorFn) -> ErrorFn:
            self.error_handlers.append((exc_type, callback))
            return callback

        return register


class Dispatcher:
    """Feed a message through routers in order; the first handler whose filters pass wins."""

    def __init__(self, routers: Sequence[Router], **dependencies: Any) -> None:
        self.routers = tuple(routers)
        self.dependencies = dependencies

    def provide(self, **dependencies: Any) -> None:
        """Replace dependencies for the messages that follow (a reloaded knowledge base)."""
        self.dependencies = {**self.dependencies, **dependencies}

    async def feed(self, message: Message, **extra: Any) -> Reply | None:
        """Return the reply of the first matching handler, or None when nothing matches."""
        scope = {**self.dependencies, **extra, "message": message}
        for router in self.routers:
            for handler in router.handlers:
                found = await handler.check(scope)
                if found is None:
                    continue
                if found:
                    scope = {**scope, **found}
                try:
                    reply: Reply | None = await call_injected(handler.callback, scope)
                except Exception as exc:
                    return await self._on_error(exc, scope)
                return reply
        return None

    async def _on_error(self, exc: Exception, scope: dict[str, Any]) -> Reply | None:
        for router in self.routers:
            for exc_type, callback in router.error_handlers:
                if isinstance(exc, exc_type):
                    result: Reply | None = await call_injected(
                        callback, {**scope, "exception": exc}
                    )
                    return result
        raise exc
