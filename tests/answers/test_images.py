"""Screenshots: read offline, judged like pasted text; bad images refused with a clear answer."""

from __future__ import annotations

import asyncio
import io
import zipfile
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from PIL import Image

from bot.answers import images
from bot.answers.images import ImageRefused
from bot.answers.ocr import TextReader
from tests.support.screenshots import screenshot

Client = TestClient[Any, Any]

SCAM = (
    "【某某银行】您的账户涉嫌洗钱已被冻结，请立即下载APP开启屏幕共享，把资金转到安全账户配合调查。"
)
LEGIT = "【某某银行】您尾号1234的账户12月3日支出人民币58.00元，余额2,315.40元。"


def _png(width: int, height: int) -> bytes:
    out = io.BytesIO()
    Image.new("L", (width, height)).save(out, "PNG")
    return out.getvalue()


def _zip_named_png() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        archive.writestr("a.txt", "hello")
    return out.getvalue()


BAD_IMAGES = {
    "truncated": screenshot(LEGIT)[:2000],
    "huge": _png(12_000, 20),
    "bomb": _png(9_000, 9_000),
    "not an image": b"GET / HTTP/1.1\r\n\r\n",
    "zip renamed .png": _zip_named_png(),
    "empty": b"",
}


@pytest.mark.parametrize("name", sorted(BAD_IMAGES))
def test_a_bad_image_is_refused_with_a_chinese_reason(name: str) -> None:
    with pytest.raises(ImageRefused) as refused:
        images.decode(BAD_IMAGES[name])
    assert any("\u4e00" <= ch <= "\u9fff" for ch in refused.value.reason)


def test_a_large_screenshot_is_scaled_down_for_reading() -> None:
    image = images.decode(_png(1_200, 4_800))
    assert max(image.size) == images.OCR_LONG_SIDE and image.mode == "RGB"


async def test_a_scam_screenshot_gets_the_checkers_verdict_with_what_was_read(
    client: Client,
) -> None:
    response = await _upload(client, screenshot(SCAM, 1, scale=0.75))
    assert response.status == 200
    (reply,) = (await response.json())["replies"]
    assert "图片里的文字" in reply["text"] and "安全账户" in reply["text"]
    assert "高风险" in reply["text"] and "**安全账户**" in reply["text"]


async def test_a_genuine_bank_notice_screenshot_is_not_flagged(client: Client) -> None:
    response = await _upload(client, screenshot(LEGIT, 2))
    (reply,) = (await response.json())["replies"]
    assert "未发现明显风险" in reply["text"] and "余额" in reply["text"]


@pytest.mark.parametrize("name", sorted(BAD_IMAGES))
async def test_a_bad_upload_gets_a_clear_answer_never_a_5xx(client: Client, name: str) -> None:
    response = await _upload(client, BAD_IMAGES[name])
    assert response.status in (200, 400)
    body = await response.json()
    text = body["replies"][0]["text"] if response.status == 200 else body["error"]
    assert "图片" in text


async def test_an_upload_over_the_limit_is_413(client: Client) -> None:
    response = await _upload(client, b"\x89PNG\r\n\x1a\n" + b"0" * images.MAX_IMAGE_BYTES)
    assert response.status == 413


async def test_a_full_queue_answers_try_later() -> None:
    reader = TextReader(workers=1, queue=0)
    slow = [reader.read(screenshot(SCAM, seed)) for seed in range(3)]
    try:
        results = await asyncio.gather(*slow, return_exceptions=True)
    finally:
        reader.close()
    busy = [r for r in results if type(r).__name__ == "OcrBusy"]
    assert len(busy) == 2 and isinstance(results[0], str)


async def _upload(client: Client, data: bytes) -> Any:
    query = {"group": "sim-village", "user": "王大爷"}
    return await client.post("/api/sim/images", params=query, data=io.BytesIO(data))
