"""Open a screenshot a resident sent, safely: known types only, bounded bytes and pixels."""

from __future__ import annotations

import io
import warnings

from PIL import Image

# A phone screenshot is well under this; WeCom caps an image message at 10 MB (path/90236).
MAX_IMAGE_BYTES = 10 * 1024 * 1024
MAX_SIDE = 10_000
MAX_PIXELS = 40_000_000
# OCR reads a long screenshot as well at this size, and much faster than at full resolution.
OCR_LONG_SIDE = 2_400

_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "png"),
    (b"\xff\xd8\xff", "jpeg"),
    (b"GIF87a", "gif"),
    (b"GIF89a", "gif"),
    (b"BM", "bmp"),
)


class ImageRefused(ValueError):
    """An image the bot will not open; `reason` is Chinese, for the sender."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def sniff(data: bytes) -> str:
    """Return the image type from its first bytes, or raise ImageRefused."""
    if len(data) > MAX_IMAGE_BYTES:
        raise ImageRefused(f"图片太大了（超过 {MAX_IMAGE_BYTES // 1024 // 1024} MB）")
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "webp"
    for signature, kind in _SIGNATURES:
        if data.startswith(signature):
            return kind
    raise ImageRefused("这不是一张能识别的图片（只认 PNG、JPG、GIF、WEBP、BMP）")


def decode(data: bytes) -> Image.Image:
    """Decode `data` into an RGB image no larger than OCR needs, or raise ImageRefused."""
    sniff(data)
    with warnings.catch_warnings():
        # Pillow warns, then raises, on decompression bombs: refuse both.
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            image = Image.open(io.BytesIO(data))
            width, height = image.size
            if width > MAX_SIDE or height > MAX_SIDE or width * height > MAX_PIXELS:
                raise ImageRefused("图片尺寸太大了，请截一张普通的手机截图")
            image.load()
        except ImageRefused:
            raise
        except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
            raise ImageRefused("图片尺寸太大了，请截一张普通的手机截图") from exc
        except (OSError, ValueError, SyntaxError) as exc:
            raise ImageRefused("图片打不开，可能没有传完整") from exc
    rgb = image.convert("RGB")
    longest = max(rgb.size)
    if longest > OCR_LONG_SIDE:
        ratio = OCR_LONG_SIDE / longest
        rgb = rgb.resize((round(rgb.width * ratio), round(rgb.height * ratio)))
    return rgb
