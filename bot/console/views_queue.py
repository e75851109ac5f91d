"""Content queue pages: list, write, preview, review, send."""

from __future__ import annotations

from dataclasses import replace

from aiohttp import web

from bot.appkeys import LIBRARY, REDIS, SETTINGS
from bot.articles.links import article_url, code_for
from bot.articles.markdown import to_html
from bot.articles.render import render_push
from bot.channels.plain import markdown_to_text
from bot.console import audit, forms, notify, pages, sending, views_sources
from bot.console.auth import CURRENT_USER, require
from bot.console.queue import RECEIPTS, STATES, STYLES, TRANSITIONS, Item, Queue, QueueError
from bot.models import Group, GroupKind, PushTarget

WRITERS = ("admin", "officer")
REVIEWERS = ("admin", "reviewer")
STAFF = ("admin", "officer", "reviewer")
# action -> roles allowed to apply it (the urgent right is checked on top).
ACTION_ROLES: dict[str, tuple[str, ...]] = {
    "submit": WRITERS,
    "approve": REVIEWERS,
    "reject": REVIEWERS,
    "schedule": REVIEWERS,
    "unschedule": REVIEWERS,
    "send": REVIEWERS,
    "urgent": WRITERS,
}
SAMPLE_GROUP = Group("preview", "示例村民群", GroupKind.VILLAGE, target=PushTarget.ROBOT)


@require()
async def home(request: web.Request) -> web.StreamResponse:
    """Show the content queue; forwarders go to their own groups."""
    if request[CURRENT_USER].role == "forwarder":
        raise web.HTTPFound("/console/groups")
    items = await Queue(request.app[REDIS]).all()
    state = request.query.get("state", "")
    if state in STATES:
        items = [i for i in items if i.state == state]
    return await pages.page(
        request, "console/queue.html.j2", items=items, states=STATES, state=state
    )


@require(*WRITERS)
async def new_item(request: web.Request) -> web.StreamResponse:
    """Show the content form: empty, or filled from ?from= (a bundled article, an old item)."""
    source = request.query.get("from", "")
    if not source:
        return await _form(request, Item("", "", "", ""))
    draft = await views_sources.starting_draft(request, source[:200])
    if draft is None:
        raise web.HTTPNotFound()
    return await _form(request, draft)


@require(*WRITERS)
async def sources(request: web.Request) -> web.StreamResponse:
    """List what a new item can start from."""
    return await views_sources.sources_page(request)


@require(*WRITERS)
async def create_item(request: web.Request) -> web.StreamResponse:
    """Save a new draft."""
    try:
        draft = forms.item(await request.post(), request.app[SETTINGS].timezone)
    except forms.FormError as exc:
        return await _form(request, Item("", "", "", ""), str(exc))
    try:
        created = await Queue(request.app[REDIS]).create(draft, request[CURRENT_USER].name)
    except QueueError as exc:
        return await _form(request, draft, str(exc))
    raise web.HTTPFound(f"/console/items/{created.id}")


@require(*STAFF)
async def show_item(request: web.Request) -> web.StreamResponse:
    """Show an item with its previews, recipients, history and (for admins) audit entries."""
    return await _show(request, await _item(request))


async def _show(
    request: web.Request, item: Item, error: str = "", status: int = 200, confirm: str = ""
) -> web.Response:
    """Render the item page; `error` explains a refused action (nothing was changed);
    `confirm` names a send action waiting for the user's confirmation."""
    redis = request.app[REDIS]
    timezone = request.app[SETTINGS].timezone
    groups = await sending.recipients(redis, item)
    article = sending.article(item, timezone)
    url = article_url(request.app[SETTINGS].base_url, item.article_id, "preview")
    push = render_push(article, groups[0] if groups else SAMPLE_GROUP, url, "markdown")
    links = []
    if item.state == "sent":
        for group in groups[:50]:
            code = await code_for(redis, group.id)
            links.append((group, article_url("", item.article_id, code)))
    is_admin = request[CURRENT_USER].role == "admin"
    entries = await audit.recent(redis, 500, item.article_id) if is_admin else []
    response = await pages.page(
        request,
        "console/item.html.j2",
        item=item,
        groups=groups,
        links=links,
        push=push,
        article_html=to_html(item.body),
        chat_text=markdown_to_text(push.markdown),
        history=await Queue(redis).history(item.id),
        audit=entries,
        actions=_actions(request, item),
        next_step=pages.next_step(item, request[CURRENT_USER]),
        audience_line=pages.audience_line(groups),
        confirm=confirm,
        styles=STYLES,
        receipts=RECEIPTS,
        send_at=forms.local_input(item.send_at, timezone),
        error=error,
    )
    response.set_status(status)
    return response


@require(*WRITERS)
async def edit_form(request: web.Request) -> web.StreamResponse:
    """Show the form for a draft or rejected item."""
    return await _form(request, await _item(request))


@require(*WRITERS)
async def save_item(request: web.Request) -> web.StreamResponse:
    """Save a new version of a draft or rejected item."""
    current = await _item(request)
    try:
        changes = forms.item(await request.post(), request.app[SETTINGS].timezone)
    except forms.FormError as exc:
        return await _form(request, current, str(exc))
    try:
        kept = replace(changes, images=current.images)  # pictures change on their own form
        await Queue(request.app[REDIS]).edit(current, kept, request[CURRENT_USER].name)
    except QueueError as exc:
        return await _form(request, replace(changes, id=current.id), str(exc))
    raise web.HTTPFound(f"/console/items/{current.id}")


@require(*STAFF)
async def act(request: web.Request) -> web.StreamResponse:
    """Apply a queue action (submit, approve, reject, schedule, send, urgent)."""
    action = request.match_info["action"]
    user = request[CURRENT_USER]
    if action not in ACTION_ROLES:
        raise web.HTTPNotFound()
    item = await _item(request)
    if not _permitted(request, item, action):
        return await _show(request, item, "你的账号不能对这条内容做这个操作。", 403)
    redis, queue = request.app[REDIS], Queue(request.app[REDIS])
    form = await request.post()
    try:
        comment = forms.text(form, "comment", 500)
        if TRANSITIONS[action][1] == "sent" and not await sending.recipients(redis, item):
            raise QueueError("现在没有符合发送对象的群（或这些群没有设置推送方式），没有发送。")
        if action in _actions(request, item) and _needs_confirmation(action, form):
            return await _show(request, item, confirm=action)
        moved = await queue.move(item, action, user.name, comment)
        if action == "approve" and moved.send_at:
            moved = await queue.move(moved, "schedule", user.name)
        if action == "submit":
            await notify.tell_reviewers(request.app, moved, user.display)
        if moved.state == "sent":
            library, timezone = request.app[LIBRARY], request.app[SETTINGS].timezone
            await sending.complete(redis, library, timezone, moved, user.name)
    except (forms.FormError, QueueError) as exc:
        return await _show(request, await _item(request), str(exc), 409)
    raise web.HTTPFound(f"/console/items/{item.id}")


def _needs_confirmation(action: str, form: forms.FormValues) -> bool:
    """Return True for a send not yet confirmed: sends go out only after the audience is shown."""
    return TRANSITIONS[action][1] == "sent" and form.get("confirmed") != "1"


def _permitted(request: web.Request, item: Item, action: str) -> bool:
    """Return True when the current user's role (and rights) allow `action` at all."""
    user = request[CURRENT_USER]
    if user.role not in ACTION_ROLES[action]:
        return False
    if action == "urgent":
        return item.urgent and (user.can("urgent") or user.role == "admin")
    return True


def _actions(request: web.Request, item: Item) -> list[str]:
    """Return the actions (buttons) the current user may apply to `item` in its state."""
    return [
        action
        for action, (sources, _, _) in TRANSITIONS.items()
        if item.state in sources
        and _permitted(request, item, action)
        and (action != "schedule" or bool(item.send_at))
    ]


async def _item(request: web.Request) -> Item:
    item = await Queue(request.app[REDIS]).get(request.match_info["id"])
    if item is None:
        raise web.HTTPNotFound()
    return item


async def _form(request: web.Request, item: Item, error: str = "") -> web.Response:
    response = await pages.page(
        request,
        "console/item_form.html.j2",
        item=item,
        kinds=forms.KIND_CHOICES,
        styles=STYLES,
        receipts=RECEIPTS,
        send_at=forms.local_input(item.send_at, request.app[SETTINGS].timezone),
        date_example=forms.DATE_TIME_EXAMPLE,
        error=error,
    )
    if error:
        response.set_status(400)
    return response
