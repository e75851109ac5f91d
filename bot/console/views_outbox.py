"""The outbox page: what waits, what was parked and why, what is held after a crash; requeue.

A held delivery was in flight when its sender died (OUTBOX_UNCERTAIN=hold): WeCom may or may
not have posted it, so an officer checks the group and sends it again from here.
"""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from bot.appkeys import REDIS
from bot.console import audit, forms
from bot.console.auth import CURRENT_USER, render, require
from bot.push.outbox import Outbox

VIEWERS = ("admin", "officer", "reviewer")
EDITORS = ("admin", "officer")
SHOWN = 50
DEPTH_LABELS = {
    "pending": "待发送（含等待重试）",
    "in_flight": "正在发送",
    "delayed": "等待重试或限速",
    "held": "待核实（发送途中实例退出）",
    "dead": "已停发",
}


@require(*VIEWERS)
async def outbox_page(request: web.Request) -> web.StreamResponse:
    """Show the queue's depth, the held deliveries and the newest parked ones."""
    return await _page(request)


@require(*EDITORS)
async def requeue(request: web.Request) -> web.StreamResponse:
    """Send a held or parked delivery again, after the parts known to be sent."""
    form = await request.post()
    try:
        key = forms.text(form, "key", 300)
    except forms.FormError as exc:
        return await _page(request, str(exc), 400)
    outbox = Outbox(request.app[REDIS])
    letter = await outbox.letter(key)
    if letter is None or not await outbox.requeue_letter(letter):
        missing = f"没有找到待核实或已停发的推送“{key}”，可能已经重新发送。"
        return await _page(request, missing, 400)
    user = request[CURRENT_USER].name
    await audit.record(request.app[REDIS], user, "outbox-requeue", key, letter.delivery.group_id)
    raise web.HTTPFound("/console/outbox")


async def _page(request: web.Request, error: str = "", status: int = 200) -> web.Response:
    outbox = Outbox(request.app[REDIS])
    response = render(
        request,
        "console/outbox.html.j2",
        depth=await outbox.depth(),
        depth_labels=DEPTH_LABELS,
        held=await outbox.held(SHOWN),
        dead=await outbox.dead_letters(SHOWN),
        when=lambda at: datetime.fromtimestamp(at, UTC),
        can_edit=request[CURRENT_USER].role in EDITORS,
        error=error,
    )
    response.set_status(status)
    return response
