"""A real service on loopback in its own thread, driven by plain blocking HTTP requests.

Hypothesis runs synchronous tests; the service keeps its own event loop in a thread, so each
generated request travels over real HTTP to the real app and Redis. Every log record that
carries a traceback (or is an error) is collected, so a test can assert there was none.
"""

from __future__ import annotations

import asyncio
import http.client
import logging
import threading
from collections.abc import Coroutine, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.cookies import SimpleCookie
from typing import Any, TypeVar
from urllib.parse import urlencode

from aiohttp import web

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Answer:
    """What the service answered to one request."""

    status: int
    body: bytes
    cookies: dict[str, str]
    location: str = ""


class Traces(logging.Handler):
    """Keep every log record with a traceback, or at level ERROR and above."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        """Keep `record` if it reports a failure."""
        if record.exc_info or record.levelno >= logging.ERROR:
            self.records.append(record)

    def take(self) -> list[str]:
        """Return the kept records as text and forget them."""
        taken, self.records = self.records, []
        return [self.format(record) for record in taken]


@dataclass
class LiveService:
    """The app under test on 127.0.0.1, with its loop in a background thread."""

    loop: asyncio.AbstractEventLoop
    port: int
    app: web.Application
    traces: Traces = field(default_factory=Traces)

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        """Run `work` on the service's loop and return its result."""
        return asyncio.run_coroutine_threadsafe(work, self.loop).result(timeout=30)

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Mapping[str, str] | str = "",
        headers: Mapping[str, str | bytes] | None = None,
        body: bytes = b"",
    ) -> Answer:
        """Send one request over a fresh connection and return the status and body."""
        encoded = query if isinstance(query, str) else urlencode(query, errors="surrogatepass")
        target = path + ("?" + encoded if encoded else "")
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30)
        try:
            connection.putrequest(method, target, skip_accept_encoding=True)
            for name, value in (headers or {}).items():
                connection.putheader(name, value)
            connection.putheader("Content-Length", str(len(body)))
            connection.endheaders(body)
            response = connection.getresponse()
            cookies = SimpleCookie()
            for header in response.headers.get_all("Set-Cookie") or ():
                cookies.load(header)
            jar = {name: morsel.value for name, morsel in cookies.items()}
            location = response.headers.get("Location", "")
            return Answer(response.status, response.read(), jar, location)
        finally:
            connection.close()


@contextmanager
def live(app: web.Application) -> Iterator[LiveService]:
    """Serve `app` on a free loopback port for the duration of the block."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, name="fuzz-service", daemon=True)
    thread.start()
    runner = web.AppRunner(app, handle_signals=False, access_log=None)
    traces = Traces()
    logging.getLogger().addHandler(traces)
    try:
        port = asyncio.run_coroutine_threadsafe(_start(runner), loop).result(timeout=60)
        yield LiveService(loop, port, app, traces)
    finally:
        asyncio.run_coroutine_threadsafe(runner.cleanup(), loop).result(timeout=60)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
        logging.getLogger().removeHandler(traces)


async def _start(runner: web.AppRunner) -> int:
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return int(runner.addresses[0][1])
