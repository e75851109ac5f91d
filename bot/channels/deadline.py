"""Answer "success" in time when an answer is slow, without a task for every request.

WeChat waits 5 s for a passive reply, then retries (被动回复用户消息). A callback arms a timer
(a timer handle, not a task); only when it fires before the answer is decided does a task
send "success" on the request, while the handler goes on and pushes the answer afterwards.
"""

from __future__ import annotations

import asyncio

from aiohttp import web


class Deadline:
    """The passive-reply deadline of one request."""

    def __init__(self, request: web.Request, seconds: float, tasks: set[asyncio.Task[None]]):
        loop = asyncio.get_running_loop()
        self._request, self._tasks = request, tasks
        self._timer: asyncio.TimerHandle | None = loop.call_later(seconds, self._expire)
        self.early: web.Response | None = None

    def late(self) -> bool:
        """Return True when "success" went out already; else settle that the answer will."""
        return self.settle() is not None

    def settle(self) -> web.Response | None:
        """Disarm the timer; return the "success" already sent, if it fired first."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        return self.early

    def _expire(self) -> None:
        self._timer = None
        self.early = web.Response(text="success")
        task = asyncio.create_task(self._send(self.early))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _send(self, response: web.Response) -> None:
        await response.prepare(self._request)
        await response.write_eof()
