"""The embedded Redis: a real server with AOF that keeps data across restarts."""

from __future__ import annotations

from pathlib import Path

import pytest
import redis

from bot.store.embedded import EmbeddedRedis, EmbeddedRedisError


def test_a_second_start_reuses_the_data(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path / "r") as server:
        redis.Redis.from_url(server.url).set("fz:probe", "kept")
    assert list((tmp_path / "r").glob("appendonly*")), "AOF files should exist"
    with EmbeddedRedis(tmp_path / "r") as server:
        assert redis.Redis.from_url(server.url).get("fz:probe") == b"kept"


def test_refuses_a_folder_another_server_is_using(tmp_path: Path) -> None:
    with EmbeddedRedis(tmp_path / "r"), pytest.raises(EmbeddedRedisError, match="already"):
        EmbeddedRedis(tmp_path / "r").start()


def test_a_stale_socket_file_is_replaced(tmp_path: Path) -> None:
    folder = tmp_path / "r"
    folder.mkdir()
    (folder / "redis.sock").write_text("stale")
    with EmbeddedRedis(folder) as server:
        assert redis.Redis.from_url(server.url).ping()


def test_a_path_too_long_for_a_socket_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(EmbeddedRedisError, match="too long"):
        EmbeddedRedis(tmp_path / ("x" * 120)).start()
