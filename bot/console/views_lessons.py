"""Teach the bot from what it missed: the unanswered questions, proposals and their review."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from aiohttp import web

from bot.answers.content import Entry
from bot.answers.lessons import Lesson, LessonError, LessonStore, chatter, export, is_chatter_like
from bot.answers.text import normalize
from bot.appkeys import LIBRARY, REDIS, SERVICE
from bot.console import audit, forms
from bot.console.auth import CURRENT_USER, render, require
from bot.models import AUDIENCE_LABELS
from bot.store import keys

STAFF = ("admin", "officer", "reviewer")
REVIEWERS = ("admin", "reviewer")
LOG_READ = 2_000
SHOWN = 100
# A drafted entry's fields in content/ order; the listed ones take one item per line.
DRAFT_FIELDS = ("id", "name", "short", "aliases", "triggers", "summary", "how", "example",
                "red_flags", "prevention", "if_scammed")  # fmt: skip
DRAFT_LISTS = frozenset({"aliases", "triggers", "red_flags", "prevention", "if_scammed"})


@dataclass(frozen=True, slots=True)
class Missed:
    """One unanswered question, folded over its repeats."""

    text: str
    times: int
    day: str
    where: str


@require(*STAFF)
async def lessons_page(request: web.Request) -> web.StreamResponse:
    """List the unanswered questions still open, and every proposal with its state."""
    return await _page(request)


@require(*STAFF)
async def propose(request: web.Request) -> web.StreamResponse:
    """Store an officer's proposal: a trigger for an entry, or chatter."""
    form = await request.post()
    action = forms.text(form, "action", 20)
    if action not in ("trigger", "chatter"):
        raise forms.FormError("不认识这个操作。")
    lesson = Lesson(
        id="",
        action="trigger" if action == "trigger" else "chatter",
        text=forms.text(form, "text", 200),
        author=request[CURRENT_USER].name,
        entry=forms.text(form, "entry", 40),
        phrase=forms.text(form, "phrase", 40),
    )
    return await _store(request, lesson)


@require(*STAFF)
async def draft_page(request: web.Request) -> web.StreamResponse:
    """Show the form for a new entry, started from an unanswered question."""
    question = request.query.get("text", "")[:200]
    return _draft(request, {"triggers": question}, question)


@require(*STAFF)
async def propose_entry(request: web.Request) -> web.StreamResponse:
    """Store a drafted new entry for review."""
    form = await request.post()
    values = {name: forms.text(form, name, 2_000) for name in DRAFT_FIELDS}
    draft: dict[str, object] = {"kind": "scam"}
    for name, value in values.items():
        if value:  # an empty field is left out, so the content check names what is missing
            draft[name] = _lines(value) if name in DRAFT_LISTS else value
    draft["audiences"] = [a for a in form.getall("audiences", []) if a in AUDIENCE_LABELS]
    question = forms.text(form, "text", 200)
    lesson = Lesson("", "entry", question or values["name"], request[CURRENT_USER].name,
                    entry=values["id"], draft=draft)  # fmt: skip
    try:
        await LessonStore(request.app[REDIS]).propose(lesson, _entries(request))
    except LessonError as exc:
        return _draft(request, values, question, str(exc), 400)
    await audit.record(request.app[REDIS], lesson.author, "lesson-propose", values["id"])
    raise web.HTTPFound("/console/lessons")


@require(*REVIEWERS)
async def decide(request: web.Request) -> web.StreamResponse:
    """Approve or return a pending proposal; an approval reaches every instance in seconds."""
    form = await request.post()
    lesson_id = forms.text(form, "id", 12)
    approve = forms.text(form, "decision", 10) == "approve"
    reviewer = request[CURRENT_USER].name
    try:
        lesson = await LessonStore(request.app[REDIS]).decide(lesson_id, reviewer, approve)
    except LessonError as exc:
        return await _page(request, str(exc), 400)
    action = "lesson-approve" if approve else "lesson-reject"
    await audit.record(request.app[REDIS], reviewer, action, lesson.entry or lesson.text[:40])
    raise web.HTTPFound("/console/lessons")


@require(*STAFF)
async def export_yaml(request: web.Request) -> web.StreamResponse:
    """Download the approved lessons as YAML to merge into content/ and commit."""
    lessons = await LessonStore(request.app[REDIS]).all()
    body = export(request.app[LIBRARY].kb.entries, lessons)
    return web.Response(
        text=body,
        content_type="application/yaml",
        charset="utf-8",
        headers={"Content-Disposition": 'attachment; filename="lessons.yaml"'},
    )


async def _store(request: web.Request, lesson: Lesson) -> web.StreamResponse:
    try:
        stored = await LessonStore(request.app[REDIS]).propose(lesson, _entries(request))
    except LessonError as exc:
        return await _page(request, str(exc), 400)
    await audit.record(request.app[REDIS], stored.author, "lesson-propose", stored.text[:40])
    raise web.HTTPFound("/console/lessons")


def _entries(request: web.Request) -> tuple[Entry, ...]:
    """Return the entries as this instance answers with them (lessons included)."""
    kb = request.app[SERVICE].dispatcher.dependencies.get("kb") or request.app[LIBRARY].kb
    return tuple(kb.entries)


async def missed_questions(request: web.Request, lessons: list[Lesson]) -> list[Missed]:
    """Return the open unanswered questions: no stray digits, chatter or already taught."""
    taught = chatter(lessons) | {
        normalize(lesson.text) for lesson in lessons if lesson.status != "rejected"
    }
    stored = await request.app[REDIS].xrevrange(keys.UNMATCHED_LOG, count=LOG_READ)
    counts: Counter[str] = Counter()
    first: dict[str, dict[str, str]] = {}
    for _, raw in stored or []:
        fields = {str(k): str(v) for k, v in (raw or {}).items()}
        text = fields.get("text", "").strip()
        key = normalize(text)
        if not key or key in taught or is_chatter_like(text):
            continue
        counts[key] += 1
        first.setdefault(key, fields)
    return [
        Missed(first[key]["text"], times, first[key].get("day", ""),
               first[key].get("group") or "一对一")  # fmt: skip
        for key, times in counts.most_common(SHOWN)
    ]


async def _page(request: web.Request, error: str = "", status: int = 200) -> web.Response:
    lessons = await LessonStore(request.app[REDIS]).all()
    response = render(
        request,
        "console/lessons.html.j2",
        missed=await missed_questions(request, lessons),
        lessons=lessons,
        entries=sorted(_entries(request), key=lambda entry: entry.name),
        can_review=request[CURRENT_USER].role in REVIEWERS,
        error=error,
    )
    response.set_status(status)
    return response


def _draft(
    request: web.Request, values: dict[str, str], question: str, error: str = "",
    status: int = 200,
) -> web.Response:  # fmt: skip
    response = render(
        request, "console/lesson_draft.html.j2", values=values, question=question,
        audiences=AUDIENCE_LABELS, error=error,
    )  # fmt: skip
    response.set_status(status)
    return response


def _lines(value: str) -> list[str]:
    return [line.strip() for line in value.splitlines() if line.strip()]
