"""Answers per second through the simulator API, vs a bare aiohttp JSON handler.

Both servers run as separate processes on loopback and are answering before either is
measured; one client then drives them in ROUNDS alternating rounds with the same concurrency.
Prints the median rates and the ratio. FANZHA_GROUP_REPLY_LIMIT is raised (printed): the
default limit would refuse most of one group's load. Run: python -m bench.sim_api
"""

from __future__ import annotations

import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

import aiohttp

from bot.settings import PROJECT_ROOT

CONCURRENCY = 16
ROUNDS = 3
REQUESTS = 3000
QUESTIONS = ["@反诈助手 刷单是什么", "@反诈助手 有人让我点赞赚钱", "@反诈助手 公安说我涉嫌洗钱",
             "@反诈助手 老师让在群里交资料费", "@反诈助手 菜单"]  # fmt: skip
BARE_SERVER = """
import sys
from aiohttp import web
REPLY = {"replies": [{"format": "markdown", "text": "**刷单返利诈骗** " * 20}]}
async def answer(request):
    await request.json()
    return web.json_response(REPLY)
app = web.Application()
app.router.add_post("/api/sim/messages", answer)
app.router.add_get("/healthz", lambda r: web.json_response({"status": "ok"}))
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_healthy(session: aiohttp.ClientSession, port: int) -> None:
    for _ in range(600):
        try:
            async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            await asyncio.sleep(0.1)
    raise RuntimeError("server did not start")


async def wait_both(*ports: int) -> None:
    """Wait until every server answers /healthz."""
    async with aiohttp.ClientSession() as session:
        await asyncio.gather(*(wait_healthy(session, port) for port in ports))


async def drive(port: int) -> float:
    """Return answered requests per second at CONCURRENCY over REQUESTS requests."""
    url = f"http://127.0.0.1:{port}/api/sim/messages"
    counter = iter(range(REQUESTS))
    async with aiohttp.ClientSession() as session:

        async def worker() -> None:
            for n in counter:
                text = QUESTIONS[n % len(QUESTIONS)]
                payload = {"group": "sim-village", "user": f"u{n % 500}", "text": text}
                async with session.post(url, json=payload) as response:
                    assert response.status == 200, await response.text()
                    assert (await response.json())["replies"]

        start = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return REQUESTS / (time.perf_counter() - start)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="fz-bench-") as data:
        ours_port, bare_port = free_port(), free_port()
        env = {**os.environ, "FANZHA_DATA_DIR": data, "FANZHA_PORT": str(ours_port),
               "FANZHA_GROUP_REPLY_LIMIT": "10000", "FANZHA_LOG_LEVEL": "WARNING"}  # fmt: skip
        env.pop("REDIS_URL", None)
        ours = subprocess.Popen([sys.executable, "-m", "bot", "serve"], cwd=PROJECT_ROOT, env=env)
        bare = subprocess.Popen([sys.executable, "-c", BARE_SERVER, str(bare_port)])
        try:
            asyncio.run(wait_both(ours_port, bare_port))  # both up before either is measured
            bare_rates, ours_rates = [], []
            for _ in range(ROUNDS):  # alternating, so a busy moment hits both sides alike
                bare_rates.append(asyncio.run(drive(bare_port)))
                ours_rates.append(asyncio.run(drive(ours_port)))
            bare_rate, ours_rate = statistics.median(bare_rates), statistics.median(ours_rates)
        finally:
            for process in (ours, bare):
                process.terminate()
                process.wait()
    print(f"bare aiohttp handler: {bare_rate:.0f} answers/s")
    print(f"simulator API (route + template + Redis metrics): {ours_rate:.0f} answers/s")
    print(f"ratio ours/bare: {ours_rate / bare_rate:.2f} (median of {ROUNDS} alternating rounds)")
    print("settings changed: FANZHA_GROUP_REPLY_LIMIT=10000 (one group carries all the load)")


if __name__ == "__main__":
    main()
