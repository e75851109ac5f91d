"""Answer questions about scams and topics from the knowledge base."""

from __future__ import annotations

import re

from redis.asyncio import Redis

from bot.answers.checker import RiskLevel, RiskRules
from bot.answers.content import Entry
from bot.answers.matcher import KnowledgeBase
from bot.answers.narrative import is_story
from bot.answers.render import Renderer
from bot.answers.speak import Overheard, overheard
from bot.filters import addressed, bare, command
from bot.models import Message, Reply
from bot.router import Router
from bot.store import conversations

router = Router("keywords")

MENU_NUMBER = re.compile(r"^[1-9]$")
# Nothing to read: digits, punctuation, emoji only. Answered with a hint, never logged as a gap.
WORDLESS = re.compile(r"[^\W\d_]")


def audience_of(message: Message) -> str | None:
    """Return the group's audience (its kind), or None in a one-to-one chat."""
    return message.group.kind.value if message.group else None


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


def act_now(entry: Entry | None, render: Renderer, candidates: tuple[Entry, ...] = ()) -> Reply:
    """Return the answer to a story of a scam: what it is, then what to do right now."""
    body = render("narrative.md.j2", entry=entry, candidates=candidates)
    if entry is not None:
        return Reply.markdown(body, intent="narrative", topic=entry.id)
    # No clear type: officers see the story among the questions the bot missed.
    intent = "menu" if candidates else "unmatched"
    return Reply.markdown(body, intent=intent, follow_up=tuple(e.id for e in candidates))


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


def wordless(message: Message) -> bool:
    """Pass when a message holds no word at all (a stray digit, punctuation, emoji)."""
    return WORDLESS.search(message.text) is None


@router.message(addressed, wordless)
async def not_understood(render: Renderer) -> Reply:
    """Ask for words instead of logging a stray digit as a question the bot missed."""
    return Reply.text(render("stray.md.j2"), intent="help")


@router.message(addressed)
async def explain(message: Message, kb: KnowledgeBase, risk: RiskRules, render: Renderer) -> Reply:
    """Answer a question put to the bot; offer the closest topics when unsure."""
    found = kb.lookup(message.text, audience_of(message))
    if found.offtopic:
        return Reply.text(render("offtopic.md.j2"), intent="offtopic")
    entries = tuple(c.entry for c in found.candidates)
    if is_story(message.text) and (
        found.best or risk.assess(message.text).level is not RiskLevel.NONE
    ):
        lead = found.best.entry if found.best else None
        if lead is None or lead.kind == "scam":
            return act_now(lead, render, () if lead else entries)
    if found.best:
        return answer(found.best.entry, message, render)
    if entries:
        body = render("closest.md.j2", candidates=entries)
        return Reply.markdown(body, intent="menu", follow_up=tuple(e.id for e in entries))
    return Reply.markdown(render("unmatched.md.j2"), intent="unmatched")


def speaks_up(message: Message, kb: KnowledgeBase, risk: RiskRules) -> dict[str, Overheard] | None:
    """Pass when an unaddressed group message asks about a scam or tells of one in progress."""
    why = overheard(message.text, kb, risk, audience_of(message))
    return {"why": why} if why else None


@router.message(speaks_up)
async def overheard_reply(why: Overheard, message: Message, render: Renderer) -> Reply:
    """Answer a clear scam question, or a scam in progress, in a group even without a mention."""
    if why.reason == "question" and why.entry is not None:
        return answer(why.entry, message, render)
    return act_now(why.entry, render)
