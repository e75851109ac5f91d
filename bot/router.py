"""Routers: handlers registered with filters, dispatched with injection by parameter name.

Each function's parameters are read once, when the Dispatcher is built: dispatch is hot.
The Dispatcher also knows which dependencies are content (fixed while it runs: the knowledge
base, templates, settings) and which hold shared state (Redis and what reads it), so it can
tell whether an answer is reproducible: worked out from the message and content alone.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from bot.models import Message, Reply

log = logging.getLogger(__name__)

FilterResult = bool | dict[str, Any] | None
Filter = Callable[..., FilterResult | Awaitable[FilterResult]]
HandlerFn = Callable[..., Awaitable[Reply | None]]
ErrorFn = Callable[..., Awaitable[Reply | None]]


@dataclass(frozen=True, slots=True)
class Injected:
    """A function with its parameters read once: required and optional names, or all (**kw)."""

    fn: Callable[..., Any]
    required: tuple[str, ...]
    optional: tuple[str, ...]
    takes_all: bool
    is_coroutine: bool

    @classmethod
    def of(cls, fn: Callable[..., Any]) -> Injected:
        """Read `fn`'s signature."""
        params = inspect.signature(fn).parameters.values()
        takes_all = any(p.kind is inspect.Parameter.VAR_KEYWORD for p in params)
        named = [p for p in params if p.kind is not inspect.Parameter.VAR_KEYWORD]
        return cls(fn, tuple(p.name for p in named if p.default is p.empty),
                   tuple(p.name for p in named if p.default is not p.empty),
                   takes_all, inspect.iscoroutinefunction(fn))  # fmt: skip

    @property
    def names(self) -> frozenset[str]:
        """Return every name the function reads."""
        return frozenset((*self.required, *self.optional))

    async def __call__(self, scope: Mapping[str, Any]) -> Any:
        """Call the function with the values from `scope` its signature declares."""
        if self.takes_all:
            kwargs = dict(scope)
        else:
            try:
                kwargs = {name: scope[name] for name in self.required}
            except KeyError:
                missing = [n for n in self.required if n not in scope]
                raise TypeError(
                    f"{self.fn.__qualname__} needs {missing}, which nothing provides"
                ) from None
            for name in self.optional:
                if name in scope:
                    kwargs[name] = scope[name]
        result = self.fn(**kwargs)
        if self.is_coroutine or inspect.isawaitable(result):
            return await result
        return result


async def call_injected(fn: Callable[..., Any], scope: Mapping[str, Any]) -> Any:
    """Call `fn` with the values from `scope` whose names its signature declares."""
    return await Injected.of(fn)(scope)


@dataclass(frozen=True, slots=True)
class Handler:
    """A callback and the filters that must all pass before it runs."""

    callback: HandlerFn
    filters: tuple[Filter, ...]


@dataclass(frozen=True, slots=True)
class Compiled:
    """A handler ready to dispatch, and whether its filters or callback read shared state."""

    callback: Injected
    filters: tuple[Injected, ...]
    filters_read_state: bool
    callback_reads_state: bool

    async def check(self, scope: Mapping[str, Any]) -> dict[str, Any] | None:
        """Return the extra arguments the filters provide, or None when one fails."""
        extra: dict[str, Any] = {}
        for filter_ in self.filters:
            result = await filter_({**scope, **extra} if extra else scope)
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
    """Feed a message through routers in order; the first handler whose filters pass wins.

    `content` are the dependencies fixed while the service runs; every other dependency is
    taken to hold shared state (a handler reading one gives an answer that is not reproducible).
    """

    def __init__(
        self, routers: Sequence[Router], *, content: Mapping[str, Any] | None = None,
        **state: Any,
    ) -> None:  # fmt: skip
        self.routers = tuple(routers)
        self.dependencies = {**(content or {}), **state}
        state_names = frozenset(state) - frozenset(content or ())
        self._handlers = tuple(
            _compile(handler, state_names)
            for router in self.routers
            for handler in router.handlers
        )
        self._errors = tuple(
            (exc_type, Injected.of(callback))
            for router in self.routers
            for exc_type, callback in router.error_handlers
        )

    def provide(self, **dependencies: Any) -> None:
        """Replace dependencies for the messages that follow (a reloaded knowledge base)."""
        self.dependencies = {**self.dependencies, **dependencies}

    async def feed(self, message: Message, **extra: Any) -> Reply | None:
        """Return the reply of the first matching handler, or None when nothing matches."""
        reply, _ = await self.route(message, **extra)
        return reply

    async def route(self, message: Message, **extra: Any) -> tuple[Reply | None, bool]:
        """Return the reply and whether it was worked out from message and content alone."""
        scope = {**self.dependencies, **extra, "message": message}
        reproducible = True
        for handler in self._handlers:
            reproducible = reproducible and not handler.filters_read_state
            found = await handler.check(scope)
            if found is None:
                continue
            if found:
                scope = {**scope, **found}
            try:
                reply: Reply | None = await handler.callback(scope)
            except Exception as exc:
                return await self._on_error(exc, scope), False
            return reply, reproducible and not handler.callback_reads_state
        return None, reproducible

    async def _on_error(self, exc: Exception, scope: dict[str, Any]) -> Reply | None:
        for exc_type, callback in self._errors:
            if isinstance(exc, exc_type):
                result: Reply | None = await callback({**scope, "exception": exc})
                return result
        raise exc


def _compile(handler: Handler, state: frozenset[str]) -> Compiled:
    filters = tuple(Injected.of(filter_) for filter_ in handler.filters)
    callback = Injected.of(handler.callback)

    def reads(call: Injected) -> bool:
        return bool(state) and (call.takes_all or not call.names.isdisjoint(state))

    return Compiled(callback, filters, any(reads(f) for f in filters), reads(callback))
