"""The `fanzha` command as a person runs it: real processes, real Redis, real HTTP."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from bot.cli.main import main
from bot.settings import PROJECT_ROOT
from tests.support.cli import run_cli

BOOT_TIMEOUT = 60.0


def test_ask_answers_in_the_terminal_with_no_service_running() -> None:
    done = run_cli("ask", "有人让我点赞赚钱", "--group-kind", "village")
    assert done.returncode == 0, done.stderr
    assert "刷单" in done.stdout and "**" not in done.stdout and "<font" not in done.stdout


def test_ask_reports_bad_configuration_clearly() -> None:
    done = run_cli("ask", "刷单", env={"FANZHA_TIMEZONE": "Nowhere/Land"})
    assert done.returncode == 1
    assert "配置错误" in done.stderr and "FANZHA_TIMEZONE" in done.stderr


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def post(port: int, payload: dict[str, str]) -> dict[str, list[dict[str, str]]]:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/api/sim/messages",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.loads(response.read())  # type: ignore[no-any-return]


def wait_healthy(process: subprocess.Popen[str], port: int) -> None:
    deadline = time.monotonic() + BOOT_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"service exited: {process.communicate()[1]}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    pytest.fail("service did not become healthy")


def serve(data_dir: Path, port: int) -> subprocess.Popen[str]:
    env = {**os.environ, "FANZHA_DATA_DIR": str(data_dir), "FANZHA_PORT": str(port)}
    env.pop("REDIS_URL", None)
    return subprocess.Popen(
        [sys.executable, "-m", "bot", "serve"], cwd=PROJECT_ROOT, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip


def stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    assert process.returncode == 0, stderr


def test_serve_runs_its_own_redis_and_keeps_data_across_restarts(tmp_path: Path) -> None:
    port = free_port()
    process = serve(tmp_path, port)
    try:
        wait_healthy(process, port)
        answer = post(port, {"group": "sim-village", "user": "王", "text": "@反诈助手 刷单"})
        assert "刷单" in answer["replies"][0]["text"]
        post(port, {"group": "private", "user": "王", "text": "骗子的新套路是什么"})
    finally:
        stop(process)
    socket_path = tmp_path / "redis" / "redis.sock"
    assert not socket_path.exists() or not _answers(socket_path), "redis must stop with the bot"
    assert list((tmp_path / "redis").glob("appendonly*"))

    process = serve(tmp_path, port)
    try:
        wait_healthy(process, port)
        unmatched = post(port, {"group": "private", "user": "王", "text": "这种骗局怎么防"})
        assert unmatched["replies"]
    finally:
        stop(process)
    # What both runs wrote is still there for the next one (the CLI starts the same Redis).
    listed = run_cli("unmatched", env={"FANZHA_DATA_DIR": str(tmp_path)})
    assert "骗子的新套路是什么" in listed.stdout and "这种骗局怎么防" in listed.stdout


def _answers(path: Path) -> bool:
    with socket.socket(socket.AF_UNIX) as sock:
        try:
            sock.connect(str(path))
        except OSError:
            return False
        return True


def test_serve_refuses_invalid_content(tmp_path: Path) -> None:
    bad = tmp_path / "content"
    (bad / "scams").mkdir(parents=True)
    (bad / "scams" / "x.yaml").write_text("id: x\nkind: scam\n", encoding="utf-8")
    env = {"FANZHA_CONTENT_DIR": str(bad), "FANZHA_DATA_DIR": str(tmp_path)}
    done = run_cli("serve", env=env)
    assert done.returncode == 1
    assert "x.yaml" in done.stderr and "服务不能启动" in done.stderr


def test_unmatched_lists_what_residents_asked_in_vain(tmp_path: Path) -> None:
    port = free_port()
    process = serve(tmp_path, port)
    try:
        wait_healthy(process, port)
        post(
            port, {"group": "sim-village", "user": "王", "text": "@反诈助手 骗子的新套路是什么"}
        )
        done = run_cli("unmatched", env={"FANZHA_DATA_DIR": str(tmp_path)})
    finally:
        stop(process)
    assert done.returncode == 0, done.stderr
    assert "骗子的新套路是什么" in done.stdout and "sim-village" in done.stdout
    assert re.search(r"^\d{4}年\d{1,2}月\d{1,2}日 ", done.stdout, re.M), done.stdout
    # With the service stopped the command starts the embedded Redis itself and reads the AOF.
    again = run_cli("unmatched", env={"FANZHA_DATA_DIR": str(tmp_path)})
    assert "骗子的新套路是什么" in again.stdout


def test_groups_commands_register_list_and_remove(tmp_path: Path) -> None:
    env = {"FANZHA_DATA_DIR": str(tmp_path)}
    bound = run_cli("groups", "bind", "wecom-bot:wrx1", "家长群", "城关镇/实验小学/三年级2班",
                    "--name", "三年级2班家长群", "--members", "46", env=env)  # fmt: skip
    assert bound.returncode == 0, bound.stderr
    listed = run_cli("groups", "list", "--kind", "parents", env=env)
    assert "wecom-bot:wrx1" in listed.stdout and "家长群" in listed.stdout
    assert "wecom-bot:wrx1" not in run_cli("groups", "list", "--kind", "村民群", env=env).stdout
    bad = run_cli("groups", "bind", "wecom-bot:wrx2", "家长群", "城关镇//三班", env=env)
    assert bad.returncode == 1 and "地区" in bad.stderr
    assert run_cli("groups", "unbind", "wecom-bot:wrx1", env=env).returncode == 0
    assert "还没有" in run_cli("groups", "list", env=env).stdout


def test_groups_bind_sets_the_push_target_and_owner(tmp_path: Path) -> None:
    env = {"FANZHA_DATA_DIR": str(tmp_path)}
    bound = run_cli("groups", "bind", "wecom-bot:wrx3", "家长群", "城关镇/实验小学",
                    "--target", "wecom-bot", "--owner", "liu", env=env)  # fmt: skip
    assert bound.returncode == 0, bound.stderr
    listed = run_cli("groups", "list", env=env).stdout
    assert "wecom-bot:wrx3" in listed and "负责人：liu" in listed and "不推送" not in listed
    bad = run_cli("groups", "bind", "x:1", "家长群", "城关镇", "--target", "fax", env=env)
    assert bad.returncode == 2 and "没有“fax”这种推送方式" in bad.stderr
    assert "wecom-bot:wrx3" in run_cli("groups", "list", env=env).stdout  # nothing changed


@pytest.mark.parametrize("argv", [["--help"], ["report", "-h"], ["schedules", "dry-run", "-h"]])
def test_help_is_chinese(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(argv)
    assert done.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("用法：fanzha") and "显示这段帮助并退出" in out
    assert "show this help" not in out and "usage:" not in out


def test_a_missing_argument_is_a_chinese_error(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["report", "--month", "2026-11"])
    assert done.value.code == 2
    assert "缺少必填的参数：-o/--output" in capsys.readouterr().err
