"""Answer questions about scams and topics from the knowledge base."""

from __future__ import annotations

import re

from redis.asyncio import Redis

from bot.answers.content import Entry
from bot.answers.matcher import KnowledgeBase
from bot.answers.render import Renderer
from bot.filters import addressed, bare, command
from bot.models import Message, Reply
from bot.router import Router
from bot.store import conversations

router = Router("keywords")

# In a group the bot answers unaddressed messages only when they clearly ask about a scam.
ASKING = re.compile(r"[?？]|吗|是不是|是真的|真的假的|靠谱|可信|能信|怎么办|是骗|骗局|诈骗|骗子")
MENU_NUMBER = re.compile(r"^[1-9]$")


def answer(entry: Entry, message: Message, render: Renderer) -> Reply:
    """Return the chat-sized answer for an entry, framed for the group's audience."""
    if entry.kind == "topic":
        return Reply.markdown(render("topic.md.j2", entry=entry), topic=entry.id)
    kind = message.group.kind if message.group else None
    body = render(
        "scam_short.md.j2",
        entry=entry,
        at_risk=kind is not None and kind.value in entry.audiences,
        audience=kind.label.removesuffix("群") if kind else "",
    )
    return Reply.markdown(body, topic=entry.id)


def full(entry: Entry, render: Renderer) -> Reply:
    """Return the whole entry."""
    return Reply.markdown(render("entry_full.md.j2", entry=entry), intent="detail", topic=entry.id)


@router.message(command("详细", "详情", "全文", "看全文"))
async def detail(args: str, kb: KnowledgeBase, render: Renderer) -> Reply | None:
    """Show the full entry named after 详细."""
    entry = kb.find(bare(args)) if args else None
    return full(entry, render) if entry else None


async def picked_from_menu(message: Message, member: str, redis: Redis) -> dict[str, str] | None:
    """Pass when a member answers their open numbered menu with its number."""
    text = bare(message.text)
    if not MENU_NUMBER.match(text):
        return None
    chosen = await conversations.menu_choice(redis, message, member, int(text))
    return {"chosen": chosen} if chosen else None


@router.message(picked_from_menu)
async def menu_pick(chosen: str, message: Message, kb: KnowledgeBase, render: Renderer) -> Reply:
    """Answer the topic picked from the menu."""
    return answer(kb.by_id[chosen], message, render)


@router.message(addressed)
async def explain(message: Message, kb: KnowledgeBase, render: Renderer) -> Reply:
    """Answer a question put to the bot; offer the closest topics when unsure."""
    found = kb.lookup(message.text)
    if found.best:
        return answer(found.best.entry, message, render)
    if found.candidates:
        entries = [c.entry for c in found.candidates]
        body = render("closest.md.j2", candidates=entries)
        return Reply.markdown(body, intent="menu", follow_up=tuple(e.id for e in entries))
    return Reply.markdown(render("unmatched.md.j2"), intent="unmatched")


def asks_about_scam(message: Message, kb: KnowledgeBase) -> dict[str, Entry] | None:
    """Pass when an unaddressed message names a scam and is phrased as a question."""
    if not ASKING.search(message.text):
        return None
    hits = kb.phrases.candidates(message.text)
    return {"entry": hits[0].entry} if hits else None


@router.message(asks_about_scam)
async def overheard(entry: Entry, message: Message, render: Renderer) -> Reply:
    """Answer a clear scam question in a group even without a mention."""
    return answer(entry, message, render)
