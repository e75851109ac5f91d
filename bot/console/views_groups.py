"""Groups pages: filtered list, edit (robot keys write-only), import/export, forwarders' view.

A forwarder sees only groups whose owner is their user name; any other group id answers 404,
exactly like one that does not exist.
"""

from __future__ import annotations

import tempfile
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from aiohttp import web
from aiohttp.web_request import FileField

from bot.appkeys import LIBRARY, REDIS, SETTINGS
from bot.articles import packs
from bot.articles.store import ArticleStore
from bot.bounded import whole_number
from bot.console import audit, forms, pages
from bot.console.auth import CURRENT_USER, require
from bot.dashboard.letters import letters
from bot.models import Group, PushTarget
from bot.push.outbox import group_health
from bot.push.outbox.health import clear as clear_health
from bot.store.groups import GroupRegistry, InvalidGroup, in_region, parse_kind, validate
from bot.store.groups_io import apply_import, export_groups, plan_import, read_rows
from bot.store.reach import Measure, totals

EDITORS = ("admin", "officer")
REACH_DAYS = 30
MAX_IMPORT_BYTES = 60 * 1024
TARGETS = [t for t in PushTarget]


@require()
async def list_groups(request: web.Request) -> web.StreamResponse:
    """List the groups the user may see, filtered by kind, region, owner, target and health."""
    redis, user = request.app[REDIS], request[CURRENT_USER]
    query = request.query
    health = await group_health(redis)
    groups = await visible_groups(request)
    kind = parse_kind(query.get("kind", "")) if query.get("kind") else None
    groups = [
        g
        for g in groups
        if (kind is None or g.kind is kind)
        and (not query.get("region") or in_region(g, query["region"]))
        and (not query.get("owner") or g.owner == query["owner"])
        and (not query.get("target") or g.target.value == query["target"])
        and (query.get("health") != "broken" or g.id in health)
    ]
    pack = ""
    if user.role == "forwarder":
        pack = packs.pack_url(
            request.app[SETTINGS].base_url, await packs.owner_code(redis, user.name)
        )
    return await pages.page(
        request,
        "console/groups.html.j2",
        groups=groups,
        health=health,
        kinds=forms.KIND_CHOICES,
        targets=TARGETS,
        query=query,
        pack_url=pack,
        can_edit=user.role in EDITORS,
        error="",
    )


@require()
async def show_group(request: web.Request) -> web.StreamResponse:
    """Show one group with its reach over the last 30 days, and the edit form for editors."""
    return await _group_page(request, await visible_group(request))


@require(*EDITORS)
async def save_group(request: web.Request) -> web.StreamResponse:
    """Save a group's fields; a new robot key replaces the old one and clears the broken flag."""
    group = await visible_group(request)
    redis, registry = request.app[REDIS], GroupRegistry(request.app[REDIS])
    form = await request.post()
    try:
        kind = parse_kind(forms.text(form, "kind", 40))
        target = forms.text(form, "target", 40)
        members = whole_number(forms.text(form, "members", 9) or "0", 9)
        if kind is None or members is None or target not in {t.value for t in TARGETS}:
            raise forms.FormError("群类型、推送方式或人数填写不对。")
        updated = replace(
            group,
            name=forms.text(form, "name", 100),
            kind=kind,
            region=forms.text(form, "region", 200).strip("/"),
            members=members,
            owner=forms.text(form, "owner", 64),
            target=PushTarget(target),
        )
        robot_key = forms.text(form, "robot_key", 100)
        validate(updated)  # check the group before the key is written: all or nothing
        if robot_key:
            await registry.set_robot_key(group.id, robot_key)
            await clear_health(redis, group.id)
        await registry.put(updated)
    except forms.FormError as exc:
        return await _group_page(request, group, str(exc))
    except InvalidGroup as exc:
        return await _group_page(
            request, group, f"保存失败：{_FIELD_NAMES.get(exc.field, exc.field)}填写不对。"
        )
    user = request[CURRENT_USER].name
    await audit.record(
        redis, user, "group-edit", group.id, "robot key replaced" if robot_key else ""
    )
    raise web.HTTPFound(f"/console/groups/view?id={group.id}")


@require(*EDITORS)
async def export(request: web.Request) -> web.StreamResponse:
    """Download the registry as CSV (robot keys are never exported)."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "groups.csv"
        await export_groups(request.app[REDIS], path)
        body = path.read_bytes()
    return web.Response(
        body=body,
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="groups.csv"'},
    )


@require(*EDITORS)
async def import_groups(request: web.Request) -> web.StreamResponse:
    """Import a CSV or YAML upload, all or nothing; list every rejected row."""
    form = await request.post()
    upload = form.get("file")
    name = getattr(upload, "filename", "") or ""
    suffix = Path(name).suffix.lower()
    if not isinstance(upload, FileField) or suffix not in (".csv", ".yaml", ".yml"):
        return await _list_error(request, "请选择一个 .csv 或 .yaml 文件。")
    data = upload.file.read(MAX_IMPORT_BYTES + 1)
    if len(data) > MAX_IMPORT_BYTES:
        return await _list_error(request, "文件太大了。")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"upload{suffix}"
        path.write_bytes(data)
        try:
            plan = plan_import(read_rows(path))
        except (ValueError, UnicodeDecodeError) as exc:
            return await _list_error(request, f"读不了这个文件：{exc}")
    if plan.rejected:
        reasons = "；".join(str(r) for r in plan.rejected[:20])
        return await _list_error(request, f"没有导入任何群，请先改正：{reasons}")
    count = await apply_import(request.app[REDIS], plan)
    await audit.record(
        request.app[REDIS], request[CURRENT_USER].name, "group-import", name, str(count)
    )
    raise web.HTTPFound("/console/groups")


_FIELD_NAMES = {"name": "群名", "region": "地区", "owner": "负责人", "robot_key": "机器人密钥"}


async def visible_groups(request: web.Request) -> list[Group]:
    user = request[CURRENT_USER]
    registry = GroupRegistry(request.app[REDIS])
    if user.role == "forwarder":
        return await registry.find(owner=user.name)
    return await registry.all()


async def visible_group(request: web.Request) -> Group:
    """Return the group named in the query, or 404 when missing or not the forwarder's own."""
    group = await GroupRegistry(request.app[REDIS]).get(request.query.get("id", ""))
    user = request[CURRENT_USER]
    if group is None or (user.role == "forwarder" and group.owner != user.name):
        raise web.HTTPNotFound()
    return group


def _days(request: web.Request) -> list[date]:
    today = datetime.now(ZoneInfo(request.app[SETTINGS].timezone)).date()
    return [today - timedelta(days=n) for n in range(REACH_DAYS)]


async def _group_page(request: web.Request, group: Group, error: str = "") -> web.Response:
    """Render one group: reach, health, and the edit form (robot key never shown)."""
    redis = request.app[REDIS]
    response = await pages.page(
        request,
        "console/group.html.j2",
        group=group,
        reach=await totals(redis, _days(request), "group", group.id),
        letters=await letters(redis, _days(request), ("group", group.id), _articles(request)),
        measures=Measure,
        health=(await group_health(redis)).get(group.id),
        has_key=await GroupRegistry(redis).robot_key(group.id) is not None,
        kinds=forms.KIND_CHOICES,
        targets=TARGETS,
        can_edit=request[CURRENT_USER].role in EDITORS,
        error=error,
    )
    if error:
        response.set_status(400)
    return response


def _articles(request: web.Request) -> ArticleStore:
    return ArticleStore(request.app[LIBRARY], request.app[REDIS])


async def _list_error(request: web.Request, error: str) -> web.Response:
    response = await pages.page(
        request,
        "console/groups.html.j2",
        groups=await visible_groups(request),
        health=await group_health(request.app[REDIS]),
        kinds=forms.KIND_CHOICES,
        targets=TARGETS,
        query={},
        pack_url="",
        can_edit=True,
        error=error,
    )
    response.set_status(400)
    return response
