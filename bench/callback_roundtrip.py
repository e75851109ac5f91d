"""Encrypted 公众号 callbacks per second: `fanzha serve` as users run it vs the crypto floor.

The floor is a bare aiohttp server doing only the work no 公众号 server can skip: the
msg_signature check, AES decryption, parsing the message, rendering a fixed text reply and
encrypting it (wechatpy, as our service uses it). Ours is `python -m bot serve` with its
default settings (embedded Redis with AOF, INFO logging, the access log as shipped) and the
公众号 set in safe mode through WECHAT_OA_* variables. Both sides (and ours with two workers)
are started and answering before any measurement; rounds then alternate between them, each a
fresh set of signed requests whose MsgIds never repeat, driven by wrk -t1 -c32 (Debian package
`wrk`). Afterwards ours answers 100,000 more callbacks in chunks while its RSS and its Redis
memory are sampled. Run: python -m bench.callback_roundtrip
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
import xmltodict  # type: ignore[import-untyped]
from redis import Redis
from wechatpy.crypto import PrpCrypto, WeChatCrypto
from wechatpy.utils import to_text

from bot.channels.wechat_crypto import sign
from bot.settings import PROJECT_ROOT

TOKEN = "benchtoken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as WeChat issues
APP_ID = "wxbench0000000001"
ACCOUNT = "gh_benchaccount01"
ROUTE = "/wechat/oa/callback"
THREADS, CONNECTIONS, SECONDS, ROUNDS = 1, 32, 5, 3
PER_ROUND = 40_000  # more than any side answers in SECONDS: no MsgId repeats within a round
MEMORY_CALLBACKS, MEMORY_CHUNKS = 100_000, 5
FOLLOWERS = 500
QUESTIONS = ("刷单是什么", "有人让我点赞赚钱", "公安说我涉嫌洗钱", "老师让在群里交资料费", "菜单")

FLOOR_SERVER = """
import sys
from aiohttp import web
from wechatpy import parse_message
from wechatpy.crypto import WeChatCrypto
from wechatpy.replies import TextReply
crypto = WeChatCrypto(sys.argv[2], sys.argv[3], sys.argv[4])
REPLY = "刷单返利是诈骗：先让你尝点甜头，再让你垫付大额资金。不要转账，拨打 96110 咨询。" * 4
async def answer(request):
    query = request.query
    plain = crypto.decrypt_message(
        await request.read(), query["msg_signature"], query["timestamp"], query["nonce"]
    )
    message = parse_message(plain)
    xml = TextReply(message=message, content=REPLY).render()
    return web.Response(
        text=crypto.encrypt_message(xml, query["nonce"], query["timestamp"]),
        content_type="application/xml",
    )
app = web.Application()
app.router.add_post("/wechat/oa/callback", answer)
app.router.add_get("/healthz", lambda r: web.json_response({"status": "ok"}))
try:
    import uvloop
    loop_factory = uvloop.new_event_loop
except ImportError:
    loop_factory = None
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None,
            **({"loop": loop_factory()} if loop_factory else {}))
"""

LUA_SCRIPT = """
local threads = {}
function setup(thread)
  table.insert(threads, thread)
end
function init(args)
  lines, position, wraps = {}, 0, 0
  for line in io.lines(args[1]) do
    local tab = line:find("\\t", 1, true)
    table.insert(lines, {line:sub(1, tab - 1), line:sub(tab + 1)})
  end
end
function request()
  position = position + 1
  if position > #lines then position, wraps = 1, wraps + 1 end
  local entry = lines[position]
  return wrk.format("POST", entry[1], {["Content-Type"] = "text/xml"}, entry[2])
end
function done(summary, latency, requests)
  local total = 0
  for _, thread in ipairs(threads) do total = total + thread:get("wraps") end
  io.write(string.format("WRAPS %d\\n", total))
end
"""


@dataclass(frozen=True)
class Run:
    """One wrk run: rate, requests answered, failures, and how often the request list wrapped."""

    rate: float
    requests: int
    failed: int
    wraps: int


@dataclass
class Side:
    """One server under test: its name, port, process and measured rates."""

    name: str
    port: int
    process: subprocess.Popen[bytes]
    checks_replies: bool
    rates: list[float] = field(default_factory=list)
    cpu_ms: list[float] = field(default_factory=list)  # server CPU per answered callback
    failed: int = 0
    wraps: int = 0


class Requests:
    """Signed, encrypted text messages, each with a MsgId never used before in this run."""

    def __init__(self) -> None:
        self.prp = PrpCrypto(WeChatCrypto(TOKEN, AES_KEY, APP_ID).key)
        self.next_id = secrets.randbelow(10**12) * 10**6

    def lines(self, count: int) -> Iterator[str]:
        """Yield `count` lines "path?query<TAB>body", timestamped now."""
        timestamp = str(int(time.time()))
        for n in range(count):
            self.next_id += 1
            openid = f"oBench{n % FOLLOWERS:05d}"
            inner = (
                f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
                f"<FromUserName><![CDATA[{openid}]]></FromUserName>"
                f"<CreateTime>{timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType>"
                f"<Content><![CDATA[{QUESTIONS[n % len(QUESTIONS)]}]]></Content>"
                f"<MsgId>{self.next_id}</MsgId></xml>"
            )
            encrypted = self.prp.encrypt(inner, APP_ID).decode()
            nonce = str(n)
            query = {
                "signature": sign(TOKEN, timestamp, nonce),
                "timestamp": timestamp,
                "nonce": nonce,
                "openid": openid,
                "encrypt_type": "aes",
                "msg_signature": sign(TOKEN, timestamp, nonce, encrypted),
            }
            body = (
                f"<xml><ToUserName><![CDATA[{ACCOUNT}]]></ToUserName>"
                f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
            )
            yield f"{ROUTE}?{urlencode(query)}\t{body}"

    def write(self, path: Path, count: int) -> str:
        """Write `count` fresh requests to `path`; return the first, for a reply check."""
        lines = list(self.lines(count))
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return lines[0]


def free_port() -> int:
    """Return a port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_up(port: int) -> None:
    """Wait until the server on `port` answers /healthz."""
    async with aiohttp.ClientSession() as session:
        for _ in range(900):
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.1)
    raise RuntimeError(f"server on port {port} did not start")


async def check_reply(side: Side, line: str) -> None:
    """Post one request; ours must give an encrypted passive reply with content."""
    path, body = line.split("\t")
    async with (
        aiohttp.ClientSession() as session,
        session.post(f"http://127.0.0.1:{side.port}{path}", data=body.encode()) as answer,
    ):
        text = await answer.text()
    if answer.status != 200:
        raise RuntimeError(f"{side.name}: {answer.status} {text[:200]}")
    crypto = WeChatCrypto(TOKEN, AES_KEY, APP_ID)
    envelope = xmltodict.parse(to_text(text))["xml"]
    plain = crypto.decrypt_message(text, envelope["MsgSignature"], envelope["TimeStamp"],
                                   envelope["Nonce"])  # fmt: skip
    if "<Content>" not in plain or len(plain) < 200:
        raise RuntimeError(f"{side.name}: no passive answer in {plain[:200]}")


def run_wrk(port: int, script: Path, requests: Path, seconds: int = SECONDS) -> Run:
    """Return what one wrk run of `seconds` measured."""
    command = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{seconds}s", "-s", str(script),
               f"http://127.0.0.1:{port}", "--", str(requests)]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    failed = sum(
        int(n) for n in re.findall(r"(?:Non-2xx or 3xx responses|timeout):? (\d+)", output)
    )
    return Run(float(_found(r"Requests/sec:\s+([\d.]+)", output)),
               int(_found(r"(\d+) requests in", output)), failed,
               int(_found(r"WRAPS (\d+)", output)))  # fmt: skip


def _found(pattern: str, output: str) -> str:
    found = re.search(pattern, output)
    if found is None:
        raise RuntimeError(f"wrk printed no {pattern!r}:\n{output}")
    return found[1]


def start_ours(data: Path, port: int, workers: int) -> subprocess.Popen[bytes]:
    """Start `fanzha serve` with its defaults and the 公众号 in safe mode."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("WECHAT_", "FANZHA_", "OUTBOX_", "REDIS_"))}  # fmt: skip
    env |= {
        "FANZHA_DATA_DIR": str(data),
        "FANZHA_PORT": str(port),
        "WECHAT_OA_APP_ID": APP_ID,
        "WECHAT_OA_TOKEN": TOKEN,
        "WECHAT_OA_SECRET": "bench-secret-0123456789",
        "WECHAT_OA_AES_KEY": AES_KEY,
        "WECHAT_API_BASE": "http://127.0.0.1:9",  # loopback only; every answer is passive
    }
    command = [sys.executable, "-m", "bot", "serve", "--workers", str(workers)]
    data.mkdir(parents=True, exist_ok=True)
    log = (data / "serve.log").open("wb")
    return subprocess.Popen(command, cwd=PROJECT_ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT)  # fmt: skip


def rss_kib(pid: int) -> int:
    """Return the resident set size of a process and its children, in KiB."""
    total = 0
    for each in [pid, *_children(pid)]:
        status = Path(f"/proc/{each}/status").read_text()
        total += int(_found(r"VmRSS:\s+(\d+)", status))
    return total


def cpu_seconds(pid: int) -> float:
    """Return the CPU time (user + system) of a process and its workers, Redis aside."""
    total = 0
    for each in [pid, *_children(pid)]:
        fields = Path(f"/proc/{each}/stat").read_text().rsplit(")", 1)[1].split()
        total += int(fields[11]) + int(fields[12])
    return total / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    try:
        found = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return []
    names = {int(child): Path(f"/proc/{child}/comm").read_text().strip() for child in found}
    return [child for child, name in names.items() if not name.startswith("redis")]


def redis_memory(data: Path) -> tuple[int, int]:
    """Return (used_memory bytes, number of keys) of ours' embedded Redis."""
    client = Redis(unix_socket_path=str(data / "redis" / "redis.sock"))
    try:
        return int(client.info("memory")["used_memory"]), int(client.dbsize())
    finally:
        client.close()


def measure_rounds(sides: list[Side], folder: Path, requests: Requests, script: Path) -> None:
    """Alternate ROUNDS rounds over `sides`, fresh MsgIds every time."""
    for _ in range(ROUNDS):
        for side in sides:
            path = folder / f"requests-{side.port}.txt"
            first = requests.write(path, PER_ROUND)
            if side.checks_replies:
                asyncio.run(check_reply(side, first))
            cpu = cpu_seconds(side.process.pid)
            run = run_wrk(side.port, script, path)
            side.cpu_ms.append((cpu_seconds(side.process.pid) - cpu) * 1000 / run.requests)
            side.rates.append(run.rate)
            side.failed += run.failed
            side.wraps += run.wraps if side.checks_replies else 0


def measure_memory(side: Side, data: Path, folder: Path, requests: Requests, script: Path) -> None:
    """Answer MEMORY_CALLBACKS fresh callbacks in chunks; print RSS and Redis memory."""
    chunk = MEMORY_CALLBACKS // MEMORY_CHUNKS
    seconds = max(1, round(chunk / statistics.median(side.rates)))
    used0, keys0 = redis_memory(data)
    print(f"\nmemory over {MEMORY_CALLBACKS:,} more callbacks (ours, 1 worker):")
    print(f"  {'callbacks':>9}  {'RSS MiB':>8}  {'Redis +KiB':>10}  {'+keys':>7}  KB/callback")
    print(f"  {0:>9,}  {rss_kib(side.process.pid) / 1024:8.1f}  {0:10.0f}  {0:7d}")
    done = 0
    while done < MEMORY_CALLBACKS:
        path = folder / "memory.txt"
        requests.write(path, chunk * 3)
        run = run_wrk(side.port, script, path, seconds)
        done += run.requests
        used, count = redis_memory(data)
        per = (used - used0) / done / 1000
        print(f"  {done:>9,}  {rss_kib(side.process.pid) / 1024:8.1f}  "
              f"{(used - used0) / 1024:10.0f}  {count - keys0:7d}  {per:11.2f}"
              + ("  (MsgIds repeated)" if run.wraps else ""))  # fmt: skip
    wait = dedupe_ttl()
    if wait > 120:
        print(f"  dedupe records live {wait:.0f} s: not waiting for them to expire")
    elif wait:
        time.sleep(wait + 2)
        used, count = redis_memory(data)
        per = (used - used0) / done / 1000
        print(f"  {wait + 2:.0f} s later (dedupe records expired): Redis {per:.2f} KB kept "
              f"per callback, {count - keys0} keys more (goal <= 0.3)")  # fmt: skip


def dedupe_ttl() -> float:
    """Return how long the service keeps a dedupe record, in seconds."""
    from bot.store import dedupe

    return float(getattr(dedupe, "DONE_TTL", 0))


def report(sides: list[Side]) -> None:
    """Print the median rate per side and the ratios."""
    floor = statistics.median(sides[0].rates)
    floor_cpu = statistics.median(sides[0].cpu_ms)
    print(f"load: wrk -t{THREADS} -c{CONNECTIONS}, {ROUNDS} alternating rounds of {SECONDS} s, "
          f"loopback, {os.cpu_count()} CPUs; median of the rounds")  # fmt: skip
    for side in sides:
        rate = statistics.median(side.rates)
        rounds = ", ".join(f"{r:.0f}" for r in side.rates)
        cpu = statistics.median(side.cpu_ms)
        print(f"{side.name}: {rate:,.0f} answers/s (rounds {rounds}), {side.failed} failed, "
              f"ratio {rate / floor:.2f}; server CPU {cpu:.3f} ms per callback, "
              f"floor/ours CPU {floor_cpu / cpu:.2f}")  # fmt: skip
        if side.wraps:
            print(f"  warning: MsgIds repeated ({side.wraps} wraps); raise PER_ROUND")
    one, two = (statistics.median(side.rates) for side in sides[1:3])
    print(f"ours 1 -> 2 workers: x{two / one:.2f}")
    print(f"goal: ours (1 worker) >= 0.5 of the floor: {one / floor:.2f}")


def main() -> None:
    if shutil.which("wrk") is None:
        sys.exit("this bench needs wrk: apt-get install -y wrk")
    with tempfile.TemporaryDirectory(prefix="fz-bench-") as temp:
        folder = Path(temp)
        script = folder / "roundtrip.lua"
        script.write_text(LUA_SCRIPT, encoding="utf-8")
        floor_port, one_port, two_port = free_port(), free_port(), free_port()
        floor = subprocess.Popen([sys.executable, "-c", FLOOR_SERVER, str(floor_port),
                                  TOKEN, AES_KEY, APP_ID])  # fmt: skip
        data_one, data_two = folder / "one", folder / "two"
        sides = [
            Side("crypto floor (bare aiohttp + wechatpy)", floor_port, floor, False),
            Side("fanzha serve --workers 1", one_port, start_ours(data_one, one_port, 1), True),
            Side("fanzha serve --workers 2", two_port, start_ours(data_two, two_port, 2), True),
        ]
        try:
            for side in sides:
                asyncio.run(wait_up(side.port))
            requests = Requests()
            measure_rounds(sides, folder, requests, script)
            report(sides)
            print(
                "settings changed from the defaults: --workers (1 and 2 instead of the "
                "number of CPUs), to show one process and the scaling"
            )
            measure_memory(sides[1], data_one, folder, requests, script)
        finally:
            for side in sides:
                side.process.terminate()
            for side in sides:
                side.process.wait()


if __name__ == "__main__":
    main()
