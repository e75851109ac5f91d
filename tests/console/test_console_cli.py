"""`fanzha user …` as an administrator runs it, against the test Redis."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from redis import Redis as SyncRedis

from bot.settings import PROJECT_ROOT
from bot.store import keys
from bot.store.embedded import EmbeddedRedis


def fanzha(
    server: EmbeddedRedis, *args: str, password: str = ""
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bot", "user", *args],
        input=password + "\n", capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT,
        env={**os.environ, "REDIS_URL": server.url},
    )  # fmt: skip


def test_user_add_passwd_disable_list(redis_server: EmbeddedRedis) -> None:
    with SyncRedis.from_url(redis_server.url, decode_responses=True) as redis:
        redis.delete(keys.CONSOLE_USERS)
        done = fanzha(
            redis_server, "add", "zhang", "--role", "officer", "--display", "张警官",
            "--urgent", "--password-stdin", password="first-password",
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "已新建账号 zhang（民警/宣传干事，张警官）" in done.stdout
        first = json.loads(str(redis.hget(keys.CONSOLE_USERS, "zhang")))
        assert first["hash"].startswith("$argon2id$") and first["rights"] == ["urgent"]
        assert "first-password" not in str(redis.hget(keys.CONSOLE_USERS, "zhang"))

        done = fanzha(redis_server, "add", "zhang", "--role", "officer", "--display", "x",
                      "--password-stdin", password="another-password")  # fmt: skip
        assert done.returncode == 1 and "已存在" in done.stderr

        done = fanzha(redis_server, "passwd", "zhang", "--password-stdin", password="short")
        assert done.returncode == 1 and "密码至少 8 位" in done.stderr
        done = fanzha(redis_server, "passwd", "zhang", "--password-stdin", password="second-pw-ok")
        assert done.returncode == 0, done.stderr
        second = json.loads(str(redis.hget(keys.CONSOLE_USERS, "zhang")))
        assert second["hash"] != first["hash"]

        assert fanzha(redis_server, "disable", "zhang").returncode == 0
        listing = fanzha(redis_server, "list").stdout
        assert "zhang\t民警/宣传干事\t张警官（已停用）" in listing
        done = fanzha(redis_server, "disable", "nobody")
        assert done.returncode == 1 and "没有用户“nobody”" in done.stderr
        redis.delete(keys.CONSOLE_USERS)
