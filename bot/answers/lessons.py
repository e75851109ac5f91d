"""What officers teach the bot from the questions it missed: a new trigger, chatter, a new entry.

An officer proposes, a reviewer approves. Approved lessons change the knowledge base of every
instance without a restart (each polls one version counter), and export back to content/ as
YAML for git.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Literal

import yaml
from redis.asyncio import Redis
from redis.exceptions import RedisError

from bot.answers.content import Entry, parse_entry
from bot.answers.matcher import KnowledgeBase
from bot.answers.text import normalize
from bot.store import keys

log = logging.getLogger(__name__)

# Seconds between two looks at the version counter: how soon an approval reaches every instance.
POLL_SECONDS = 3.0

Action = Literal["trigger", "chatter", "entry"]
Status = Literal["pending", "approved", "rejected"]
ACTIONS: dict[str, str] = {"trigger": "加为触发词", "chatter": "标为闲聊", "entry": "新建词条"}
STATUSES: dict[str, str] = {"pending": "待审核", "approved": "已生效", "rejected": "已退回"}
PHRASE_MIN, PHRASE_MAX = 2, 30
STRAY = re.compile(r"^[\d\W_]*$")


class LessonError(ValueError):
    """A lesson that cannot be taken; the message is Chinese, for the officer."""


@dataclass(frozen=True, slots=True)
class Lesson:
    """One proposal: `text` is the resident's question; `entry` the entry it teaches."""

    id: str
    action: Action
    text: str
    author: str
    entry: str = ""
    phrase: str = ""
    draft: dict[str, object] = field(default_factory=dict)
    status: Status = "pending"
    reviewer: str = ""
    at: float = 0.0

    @property
    def action_label(self) -> str:
        """Return the Chinese name of the action."""
        return ACTIONS[self.action]

    @property
    def status_label(self) -> str:
        """Return the Chinese name of the status."""
        return STATUSES[self.status]


def is_chatter_like(text: str) -> bool:
    """Return whether `text` is only digits, punctuation or blanks (never a content gap)."""
    return bool(STRAY.match(normalize(text)))


class LessonStore:
    """Lessons in Redis, all under one hash tag."""

    def __init__(self, redis: Redis) -> None:
        self.redis = redis

    async def propose(self, lesson: Lesson, entries: Sequence[Entry]) -> Lesson:
        """Validate `lesson` against the current entries and store it as pending."""
        check(lesson, entries)
        number = await self.redis.incr(keys.LESSONS_SEQ)
        stored = replace(lesson, id=str(number), status="pending", at=time.time())
        await self.redis.hset(keys.LESSONS, stored.id, json.dumps(asdict(stored)))
        return stored

    async def all(self) -> list[Lesson]:
        """Return every lesson, newest first."""
        stored = await self.redis.hvals(keys.LESSONS)
        lessons = [Lesson(**json.loads(raw)) for raw in stored]
        return sorted(lessons, key=lambda lesson: -int(lesson.id))

    async def decide(self, lesson_id: str, reviewer: str, approve: bool) -> Lesson:
        """Approve or reject a pending lesson; an approval tells every instance to reload."""
        raw = await self.redis.hget(keys.LESSONS, lesson_id)
        if raw is None:
            raise LessonError("没有这条记录。")
        lesson = Lesson(**json.loads(raw))
        if lesson.status != "pending":
            raise LessonError(f"这条已经{lesson.status_label}，不能再审核。")
        if lesson.author == reviewer:
            raise LessonError("自己提交的修改要由另一位审核员通过。")
        decided = replace(lesson, status="approved" if approve else "rejected", reviewer=reviewer)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(keys.LESSONS, lesson_id, json.dumps(asdict(decided)))
            pipe.incr(keys.LESSONS_VERSION)
            await pipe.execute()
        return decided

    async def version(self) -> int:
        """Return the counter every approval or rejection bumps."""
        return int(await self.redis.get(keys.LESSONS_VERSION) or 0)


def check(lesson: Lesson, entries: Sequence[Entry]) -> None:
    """Raise LessonError (Chinese) if `lesson` cannot be applied to `entries`."""
    if not lesson.text.strip():
        raise LessonError("原话不能为空。")
    if lesson.action == "trigger":
        _check_phrase(lesson, entries)
    elif lesson.action == "entry":
        draft_entry(lesson.draft, entries)


def _check_phrase(lesson: Lesson, entries: Sequence[Entry]) -> None:
    if lesson.entry not in {entry.id for entry in entries}:
        raise LessonError("请选一个已有的词条。")
    phrase = lesson.phrase.strip()
    if not PHRASE_MIN <= len(phrase) <= PHRASE_MAX or is_chatter_like(phrase):
        raise LessonError(f"触发词要有 {PHRASE_MIN}～{PHRASE_MAX} 个字，不能只是数字或符号。")
    key = normalize(phrase)
    for entry in entries:
        known = (entry.name, entry.short, *entry.aliases, *entry.triggers)
        if key in {normalize(p) for p in known}:
            raise LessonError(f"「{phrase}」已经是「{entry.name}」的词了。")


def draft_entry(draft: Mapping[str, object], entries: Sequence[Entry]) -> Entry:
    """Validate a drafted entry exactly as content/ files are validated; return it."""
    entry_id = str(draft.get("id", ""))
    if entry_id in {entry.id for entry in entries}:
        raise LessonError(f"已经有编号为 {entry_id} 的词条了，请换一个。")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{entry_id or 'draft'}.yaml"
        path.write_text(entry_yaml(draft), encoding="utf-8")
        entry, problems = parse_entry(path)
    if entry is None:
        raise LessonError("；".join(f"{p.field}：{p.reason}" for p in problems))
    return entry


def entry_yaml(draft: Mapping[str, object]) -> str:
    """Return a drafted entry as the YAML of a content/ file."""
    return yaml.safe_dump(dict(draft), allow_unicode=True, sort_keys=False, width=1000)


def apply(entries: Sequence[Entry], lessons: Iterable[Lesson]) -> tuple[Entry, ...]:
    """Return `entries` with every approved trigger and new entry added."""
    approved = [lesson for lesson in lessons if lesson.status == "approved"]
    result = list(entries)
    for lesson in approved:
        if lesson.action == "entry":
            try:
                result.append(draft_entry(lesson.draft, result))
            except LessonError as exc:  # e.g. content/ gained the same id since approval
                log.warning("lesson %s skipped: %s", lesson.id, exc)
    by_id = {entry.id: index for index, entry in enumerate(result)}
    for lesson in approved:
        if lesson.action == "trigger" and lesson.entry in by_id:
            index = by_id[lesson.entry]
            entry = result[index]
            if lesson.phrase not in entry.triggers:
                result[index] = replace(entry, triggers=(*entry.triggers, lesson.phrase))
    return tuple(result)


def chatter(lessons: Iterable[Lesson]) -> frozenset[str]:
    """Return the normalised texts marked as chatter (pending or approved)."""
    return frozenset(
        normalize(lesson.text)
        for lesson in lessons
        if lesson.action == "chatter" and lesson.status != "rejected"
    )


def export(entries: Sequence[Entry], lessons: Iterable[Lesson]) -> str:
    """Return the approved lessons as YAML to merge into content/ (one document per file)."""
    approved = [lesson for lesson in lessons if lesson.status == "approved"]
    triggers: dict[str, list[str]] = {}
    for lesson in approved:
        if lesson.action == "trigger":
            triggers.setdefault(lesson.entry, []).append(lesson.phrase)
    documents = [
        f"# content/{'scams' if e.kind == 'scam' else 'topics'}/{e.id}.yaml: add to triggers\n"
        + yaml.safe_dump({"id": e.id, "triggers": triggers[e.id]}, allow_unicode=True)
        for e in entries
        if e.id in triggers
    ]
    documents += [
        f"# new file content/scams/{lesson.draft.get('id')}.yaml\n" + entry_yaml(lesson.draft)
        for lesson in approved
        if lesson.action == "entry"
    ]
    return "---\n".join(documents) if documents else "# 还没有已生效的修改\n"


async def follow(
    redis: Redis,
    base: Sequence[Entry],
    use: Callable[[KnowledgeBase], None],
    poll: float = POLL_SECONDS,
) -> None:
    """Forever: when the lessons change, rebuild the knowledge base from `base` and `use` it."""
    seen = 0
    while True:
        try:
            version = await LessonStore(redis).version()
            if version != seen:
                lessons = await LessonStore(redis).all()
                entries = apply(base, lessons)
                use(await asyncio.to_thread(KnowledgeBase, entries))
                seen = version
                log.info("knowledge base reloaded with lessons up to version %d", version)
        except (RedisError, OSError) as exc:  # Redis away: try again at the next poll
            log.warning("lessons not reloaded: %s", exc)
        await asyncio.sleep(poll)
