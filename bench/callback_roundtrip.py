"""Encrypted 公众号 callbacks per second through the real app, vs a bare aiohttp handler.

Both servers run as separate processes on loopback. The real one is `create_app` plus
`setup_official_account` in safe mode (signature check, AES decryption, dedupe by MsgId in
Redis, the chat service, an encrypted passive reply); the bare one reads the body and returns a
fixed XML answer. The load generator is wrk (Debian package `wrk`): Python signs and encrypts
one request per message id beforehand, and a Lua script hands each wrk thread its own share,
so every request the real app sees carries a distinct MsgId. Prints both rates and the ratio
(goal >= 0.4). Run: python -m bench.callback_roundtrip
"""

from __future__ import annotations

import asyncio
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path
from urllib.parse import urlencode

import aiohttp
from wechatpy.crypto import PrpCrypto, WeChatCrypto

from bot.settings import PROJECT_ROOT
from tests.support.fakes import OfficialAccountCaller

TOKEN = "benchtoken"
AES_KEY = "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"  # 43 characters, as WeChat issues
APP_ID = "wxbench0000000001"
ROUTE = "/wechat/oa/callback"
THREADS, CONNECTIONS, SECONDS = 1, 16, 8  # one wrk thread leaves the other CPU(s) to the server
REQUESTS = 40_000  # more than the real app answers in SECONDS, so no message id repeats
QUESTIONS = ("刷单是什么", "有人让我点赞赚钱", "公安说我涉嫌洗钱", "老师让在群里交资料费", "菜单")

BARE_SERVER = """
import sys
from aiohttp import web
REPLY = "<xml><Encrypt><![CDATA[" + "A" * 1200 + "]]></Encrypt><MsgSignature><![CDATA[" \\
    + "0" * 40 + "]]></MsgSignature><TimeStamp>1700000000</TimeStamp>" \\
    "<Nonce><![CDATA[123456]]></Nonce></xml>"
async def answer(request):
    await request.read()
    return web.Response(text=REPLY, content_type="application/xml")
app = web.Application()
app.router.add_post("/wechat/oa/callback", answer)
app.router.add_get("/healthz", lambda r: web.json_response({"status": "ok"}))
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""

LUA_SCRIPT = """
local threads, counter = {}, 0
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  lines, position, wraps = {}, 0, 0
  local share, k = tonumber(args[2]), 0
  for line in io.lines(args[1]) do
    if k % share == id then
      local tab = line:find("\\t", 1, true)
      table.insert(lines, {line:sub(1, tab - 1), line:sub(tab + 1)})
    end
    k = k + 1
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


def serve_ours(port: int) -> None:
    """Run the real app with the 公众号 channel in safe mode (the child process's entry)."""
    from aiohttp import web

    from bot.app import create_app
    from bot.channels.official_account import OfficialAccountConfig, setup_official_account
    from bot.settings import Settings

    settings = Settings.from_env()
    config = OfficialAccountConfig(
        app_id=APP_ID,
        token=TOKEN,
        secret="bench-secret",
        aes_key=AES_KEY,
        api_base="http://127.0.0.1:9",  # never called: every answer is passive
    )
    app = create_app(settings)
    setup_official_account(app, config)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def oa_caller() -> OfficialAccountCaller:
    """Return the fake WeChat caller, used here only to sign and read messages (never to post)."""
    return OfficialAccountCaller(None, TOKEN, APP_ID, AES_KEY)  # type: ignore[arg-type]


def signed_requests(count: int) -> list[str]:
    """Return `count` lines "path?query<TAB>body", each a distinct encrypted text message."""
    caller = oa_caller()
    prp = PrpCrypto(WeChatCrypto(TOKEN, AES_KEY, APP_ID).key)
    base = secrets.randbelow(10**12) * 10**6
    lines = []
    for n in range(count):
        openid = f"oBench{n % 500:05d}"
        extra = f"<Content><![CDATA[{QUESTIONS[n % len(QUESTIONS)]}]]></Content>"
        inner = caller.message_xml(openid, "text", f"{extra}<MsgId>{base + n}</MsgId>")
        encrypted = prp.encrypt(inner, APP_ID).decode()
        query = caller.query(openid, encrypted, nonce=str(n))
        body = (
            f"<xml><ToUserName><![CDATA[{caller.account}]]></ToUserName>"
            f"<Encrypt><![CDATA[{encrypted}]]></Encrypt></xml>"
        )
        lines.append(f"{ROUTE}?{urlencode(query)}\t{body}")
    return lines


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def check_server(port: int, line: str, *, real: bool) -> None:
    """Wait for the server, then send one request and check the answer is a real reply."""
    path, body = line.split("\t")
    async with aiohttp.ClientSession() as session:
        for _ in range(600):
            try:
                async with session.get(f"http://127.0.0.1:{port}/healthz") as response:
                    if response.status == 200:
                        break
            except aiohttp.ClientError:
                await asyncio.sleep(0.1)
        else:
            raise RuntimeError("server did not start")
        async with session.post(f"http://127.0.0.1:{port}{path}", data=body.encode()) as answer:
            text = await answer.text()
            assert answer.status == 200, text
    if real:
        caller = oa_caller()
        reply = caller.read_reply(text)
        assert reply.get("Content"), f"no passive reply: {text[:200]}"


def run_wrk(port: int, script: Path, requests: Path) -> tuple[float, int, int]:
    """Return (requests per second, failed responses, wrapped lists) of one wrk run."""
    target = f"http://127.0.0.1:{port}"
    command = ["wrk", f"-t{THREADS}", f"-c{CONNECTIONS}", f"-d{SECONDS}s", "-s", str(script),
               target, "--", str(requests), str(THREADS)]  # fmt: skip
    output = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    rate = float(_found(r"Requests/sec:\s+([\d.]+)", output))
    failed = sum(
        int(n) for n in re.findall(r"(?:Non-2xx or 3xx responses|timeout):? (\d+)", output)
    )
    wraps = int(_found(r"WRAPS (\d+)", output))
    return rate, failed, wraps


def _found(pattern: str, output: str) -> str:
    found = re.search(pattern, output)
    if found is None:
        raise RuntimeError(f"wrk printed no {pattern!r}:\n{output}")
    return found[1]


def measure(
    port: int, process: subprocess.Popen[bytes], folder: Path, *, real: bool
) -> tuple[float, int, int]:
    """Generate fresh signed requests (timestamps within the replay window) and run wrk."""
    lines = signed_requests(REQUESTS)
    requests, script = folder / f"requests-{port}.txt", folder / "roundtrip.lua"
    requests.write_text("\n".join(lines[1:]) + "\n", encoding="utf-8")
    script.write_text(LUA_SCRIPT, encoding="utf-8")
    try:
        asyncio.run(check_server(port, lines[0], real=real))
        return run_wrk(port, script, requests)
    finally:
        process.terminate()
        process.wait()


def main() -> None:
    if shutil.which("wrk") is None:
        sys.exit("this bench needs wrk: apt-get install -y wrk")
    with tempfile.TemporaryDirectory(prefix="fz-bench-") as data:
        folder = Path(data)
        ours_port, bare_port = free_port(), free_port()
        env = {key: value for key, value in os.environ.items() if not key.startswith("WECHAT_")}
        env |= {"FANZHA_DATA_DIR": data, "FANZHA_LOG_LEVEL": "WARNING"}
        env.pop("REDIS_URL", None)  # the app runs its embedded Redis in the temporary folder
        bare = subprocess.Popen([sys.executable, "-c", BARE_SERVER, str(bare_port)])
        bare_rate, bare_failed, _ = measure(bare_port, bare, folder, real=False)
        command = [sys.executable, "-m", "bench.callback_roundtrip", "--serve", str(ours_port)]
        ours = subprocess.Popen(command, cwd=PROJECT_ROOT, env=env)
        ours_rate, ours_failed, wraps = measure(ours_port, ours, folder, real=True)
    print(f"load: wrk -t{THREADS} -c{CONNECTIONS} -d{SECONDS}s on loopback, {os.cpu_count()} CPUs")
    print(f"bare aiohttp handler (fixed XML): {bare_rate:.0f} answers/s, {bare_failed} failed")
    print(
        "公众号 safe-mode callback (verify + decrypt + dedupe + answer + encrypt): "
        f"{ours_rate:.0f} answers/s, {ours_failed} failed"
    )
    if wraps:
        print(f"warning: message ids repeated ({wraps} wraps); raise REQUESTS for a fair number")
    print(f"ratio ours/bare: {ours_rate / bare_rate:.2f} (goal >= 0.4)")


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        serve_ours(int(sys.argv[2]))
    else:
        main()
