"""Attach pictures to a draft (raw upload from the item page), remove them, serve them.

The page's script posts the chosen file as the raw body with the session's CSRF token in
X-CSRF-Token, like the simulator's screenshots, so a poster of a few MB never meets the form
size limit. Pictures are public at /img/<id>.jpg: WeCom fetches a news card's cover itself.
"""

from __future__ import annotations

from dataclasses import replace

from aiohttp import web

from bot.appkeys import REDIS
from bot.articles import images
from bot.console import audit, forms
from bot.console.auth import CURRENT_USER, require
from bot.console.queue import EDITABLE, Item, Queue, QueueError

WRITERS = ("admin", "officer")
CACHE_FOREVER = "public, max-age=31536000, immutable"


@require(*WRITERS)
async def attach(request: web.Request) -> web.StreamResponse:
    """Take one picture as the raw body and add it to a draft; answer JSON."""
    item = await _editable(request)
    if len(item.images) >= images.MAX_PER_ITEM:
        return _refused(f"一条内容最多 {images.MAX_PER_ITEM} 张图片。")
    if request.content_length is not None and request.content_length > images.MAX_UPLOAD_BYTES:
        return _refused(f"图片太大了，最大 {images.MAX_UPLOAD_BYTES // 1024 // 1024} MB。", 413)
    data = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        data += chunk
        if len(data) > images.MAX_UPLOAD_BYTES:
            return _refused("图片太大了。", 413)
    try:
        image_id = await images.save(request.app[REDIS], images.prepare(bytes(data)))
        await _save(request, item, (*item.images, image_id), "image-add", image_id)
    except (images.ImageError, QueueError) as exc:
        return _refused(str(exc))
    return web.json_response({"image": image_id})


@require(*WRITERS)
async def detach(request: web.Request) -> web.StreamResponse:
    """Take a picture off a draft (the form's button)."""
    item = await _editable(request)
    image_id = forms.text(await request.post(), "image", images.ID_CHARS)
    if image_id in item.images:
        kept = tuple(i for i in item.images if i != image_id)
        try:
            await _save(request, item, kept, "image-remove", image_id)
        except QueueError as exc:
            raise web.HTTPConflict(text=str(exc)) from None
    raise web.HTTPFound(f"/console/items/{item.id}")


async def serve(request: web.Request) -> web.StreamResponse:
    """Return a stored picture with headers that keep browsers from guessing its type."""
    picture = await images.load(request.app[REDIS], request.match_info["image"])
    if picture is None:
        raise web.HTTPNotFound()
    return web.Response(body=picture, headers={
        "Content-Type": "image/jpeg",
        "Cache-Control": CACHE_FOREVER,
        "X-Content-Type-Options": "nosniff",
        "Content-Disposition": "inline",
        "Content-Security-Policy": "default-src 'none'",
    })  # fmt: skip


async def _editable(request: web.Request) -> Item:
    item = await Queue(request.app[REDIS]).get(request.match_info["id"])
    if item is None:
        raise web.HTTPNotFound()
    if item.state not in EDITABLE:
        raise web.HTTPConflict(text="只有草稿和退回的内容能改图片。")
    return item


async def _save(
    request: web.Request, item: Item, pictures: tuple[str, ...], action: str, detail: str
) -> None:
    user = request[CURRENT_USER].name
    await Queue(request.app[REDIS]).edit(item, replace(item, images=pictures), user)
    await audit.record(request.app[REDIS], user, action, item.article_id, detail)


def _refused(reason: str, status: int = 400) -> web.Response:
    return web.json_response({"error": reason}, status=status)
