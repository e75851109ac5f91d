"""Pictures on loopback, as WeChat's and WeCom's media hosts serve what members send.

A 公众号 or app image message names its PicUrl; a smart-bot image its url, AES-256-CBC encrypted
with IV the key's first 16 bytes and PKCS#7 padding to a multiple of 32 (接收消息 path/100719,
图片 结构体): `seal` does that, independently of our code.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field

from aiohttp import web
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from tests.support.fakes import _Fake

# The smallest PNG: signature, IHDR (1x1), IDAT, IEND.
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR42mNkYAAAAAYAAjCB0C8AAAAASUVORK5CYII="
)


def seal(data: bytes, aes_key: str) -> bytes:
    """Return `data` encrypted the way the smart bot serves a member's picture."""
    key = base64.b64decode(aes_key + "=" * (-len(aes_key) % 4))
    pad = 32 - len(data) % 32
    encryptor = Cipher(algorithms.AES(key), modes.CBC(key[:16])).encryptor()
    return encryptor.update(data + bytes([pad]) * pad) + encryptor.finalize()


@dataclass
class FakeMedia(_Fake):
    """GET /media/<name> answers the bytes stored under `name` (404 otherwise)."""

    files: dict[str, bytes] = field(default_factory=dict)
    hits: list[str] = field(default_factory=list)

    @property
    def app(self) -> web.Application:
        """Return a fresh application serving this fake's state."""
        app = web.Application()
        app.router.add_get("/media/{name}", self._get)
        return app

    def url(self, name: str) -> str:
        """Return the address of the picture stored under `name`."""
        return f"{self.base}/media/{name}"

    async def _get(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.hits.append(name)
        if name not in self.files:
            return web.Response(status=404)
        return web.Response(body=self.files[name], content_type="application/octet-stream")


async def serve_media(aiohttp_server: object, **files: bytes) -> FakeMedia:
    """Start the picture host on loopback with `files`."""
    fake = FakeMedia(files=dict(files))
    server = await aiohttp_server(fake.app)  # type: ignore[operator]
    fake.base = str(server.make_url("")).rstrip("/")
    return fake
