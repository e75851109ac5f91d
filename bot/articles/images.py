"""Pictures attached to console items: checked, resized (Pillow), kept in Redis, served.

An upload is opened only through bot.answers.images (known types, bounded bytes and pixels,
no decompression bombs), turned upright, shrunk to at most 1280 px and stored as a JPEG of a
few hundred KB: well inside the robot's 2 MB image limit and fit for a news card's cover
(WeCom suggests 1068×455 for the large picture, 群机器人配置说明 path/91770). An image is named
by its content hash, so its address never changes and caches may keep it forever.
"""

from __future__ import annotations

import base64
import hashlib
import io

from PIL import Image, ImageOps
from redis.asyncio import Redis

from bot.answers.images import ImageRefused, decode
from bot.store import keys

MAX_UPLOAD_BYTES = 8 * 1024 * 1024
MAX_EDGE = 1280
MAX_PER_ITEM = 4
JPEG_QUALITY = 85
ID_CHARS = 24
ID_PATTERN = f"[0-9a-f]{{{ID_CHARS}}}"


class ImageError(ValueError):
    """An upload that cannot be attached; the message is the Chinese reason."""


def prepare(data: bytes) -> bytes:
    """Return the upload as an upright JPEG of at most MAX_EDGE px, or raise ImageError."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise ImageError(f"图片太大了，最大 {MAX_UPLOAD_BYTES // 1024 // 1024} MB。")
    try:
        picture = decode(data)
    except ImageRefused as refused:
        raise ImageError(f"这张图片不能用：{refused.reason}。") from None
    with Image.open(io.BytesIO(data)) as original:  # decode() has checked it already
        exif = original.getexif()
    if exif.get(0x0112):  # the camera's orientation tag
        picture.info["exif"] = exif.tobytes()
        picture = ImageOps.exif_transpose(picture)
    picture.thumbnail((MAX_EDGE, MAX_EDGE))
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=JPEG_QUALITY, optimize=True)
    return out.getvalue()


async def save(redis: Redis, picture: bytes) -> str:
    """Store a prepared JPEG and return its id (the start of its SHA-256)."""
    image_id = hashlib.sha256(picture).hexdigest()[:ID_CHARS]
    await redis.set(keys.console_image(image_id), base64.b64encode(picture).decode())
    return image_id


async def load(redis: Redis, image_id: str) -> bytes | None:
    """Return the stored JPEG, or None."""
    stored = await redis.get(keys.console_image(image_id))
    return None if stored is None else base64.b64decode(stored)


def url(base_url: str, image_id: str) -> str:
    """Return the public address of an image (robot covers need one WeCom can fetch)."""
    return f"{base_url.rstrip('/')}/img/{image_id}.jpg"
