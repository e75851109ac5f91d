"""Quiz rounds in a group chat: 开始答题 / 答题 5题 家长, answers, 下一题, 结束答题.

Answers are scored quietly (a reply per answer would flood the group); what the group sees is
the question, the answer at close and the leaderboard. Text that is not an answer, or that
comes when no round runs, falls through to the other routers.
"""

from __future__ import annotations

import random
import re
import unicodedata
from dataclasses import dataclass, replace
from typing import Any
from zoneinfo import ZoneInfo

from bot.answers.matcher import KnowledgeBase
from bot.filters import bare, text_is
from bot.models import ACK_INTENT, GroupKind, Message, Reply
from bot.quiz import affirm, messages, stats
from bot.quiz.closing import close_round
from bot.quiz.model import Outcome, RoundBusy
from bot.quiz.rounds import DEFAULT_SECONDS, QuizRounds, now_ms, parse_audience
from bot.router import Router
from bot.settings import Settings
from bot.store.members import member_label
from handlers.admin import is_admin

router = Router("quiz")

MAX_QUESTIONS, DEFAULT_QUESTIONS = 20, 5
MIN_SECONDS, MAX_SECONDS = 10, 600
START = re.compile(r"^(?:开始)?答题(?:\s*[:：]\s*|\s+|$)(.*)$", re.S)
_AFTER = r"(?=$|[\s,.!?;:、。~…)\]])"
CHOICE = re.compile(rf"^(?:我?选(?:择)?|答案是?)?\s*([A-D]){_AFTER}")
NEXT_WORDS, END_WORDS = ("下一题",), ("结束答题", "停止答题")


class BadRound(ValueError):
    """A start command that cannot be understood; the message is the Chinese hint."""


@dataclass(frozen=True, slots=True)
class RoundPlan:
    """What the organiser asked for."""

    count: int = DEFAULT_QUESTIONS
    seconds: int = DEFAULT_SECONDS
    audience: str | None = None
    scam: str | None = None


def parse_answer(text: str) -> tuple[str, bool] | None:
    """Return (option letter, said 对/错) for an answer like "Ａ", "选b", "对的吧"; else None."""
    plain = unicodedata.normalize("NFKC", text).strip()
    found = CHOICE.match(plain.upper())
    if found:
        return found.group(1), False
    said = affirm.true_false(plain)
    return None if said is None else (("A" if said else "B"), True)


def parse_plan(words: list[str], kb: KnowledgeBase, default_audience: str | None) -> RoundPlan:
    """Read "5题", "30秒", an audience word and a scam name; raise BadRound."""
    plan = RoundPlan(audience=default_audience)
    for word in words:
        word = unicodedata.normalize("NFKC", word)
        if found := re.fullmatch(r"(\d+)\s*[题道个]?", word):
            count = int(found.group(1))
            if not 1 <= count <= MAX_QUESTIONS:
                raise BadRound(f"题数要在 1 到 {MAX_QUESTIONS} 之间。")
            plan = replace(plan, count=count)
        elif found := re.fullmatch(r"(\d+)\s*(?:秒|s)", word):
            seconds = int(found.group(1))
            if not MIN_SECONDS <= seconds <= MAX_SECONDS:
                raise BadRound(f"每题时间要在 {MIN_SECONDS} 到 {MAX_SECONDS} 秒之间。")
            plan = replace(plan, seconds=seconds)
        elif audience := parse_audience(word):
            plan = replace(plan, audience=audience)
        elif (entry := kb.find(word)) is not None and entry.kind == "scam":
            plan = replace(plan, scam=entry.id)
        else:
            raise BadRound(f"没看懂“{word}”。")
    return plan


def start_command(message: Message) -> dict[str, Any] | None:
    """Pass on 开始答题 / 答题 …; hand over the words after it."""
    found = START.match(bare(message.text))
    return {"words": found.group(1).split()} if found else None


async def quiz_answer(message: Message, quiz: QuizRounds | None = None) -> dict[str, Any] | None:
    """Pass when the text is an answer and a round runs in this group, or on any press of an
    answer card's button (a press on a card of a closed question or round is answered too)."""
    if quiz is None or message.group is None:
        return None
    parsed = parse_answer(message.text)
    if parsed is None:
        return None
    round_id = await quiz.active(message.group.id)
    if message.card:
        question = messages.card_question(message.card, round_id or "")
    elif round_id is None:
        return None
    else:
        question = -1  # typed: the question open now
    choice, true_false = parsed
    return {"round_id": round_id, "choice": choice, "true_false": true_false, "question": question}


async def running_round(message: Message, quiz: QuizRounds | None = None) -> dict[str, Any] | None:
    """Pass when a chat round runs in this group; hand over its id."""
    if quiz is None or message.group is None:
        return None
    round_id = await quiz.active(message.group.id)
    return {"round_id": round_id} if round_id else None


@router.message(quiz_answer)
async def take_answer(
    message: Message,
    member: str,
    quiz: QuizRounds,
    settings: Settings,
    round_id: str | None,
    choice: str,
    true_false: bool,
    question: int | None,
) -> Reply | None:
    """Score the answer. Typed answers get no reply (the group would flood); a button press is
    acknowledged on the presser's own card."""
    assert message.group is not None
    outcome = Outcome.LATE  # a card of an earlier round
    if round_id is not None and question is not None:
        answered = await quiz.answer(
            round_id,
            member,
            choice,
            now_ms(message.at),
            question=question,
            name=member_label(member),  # chat rounds never store a member id
            group_id=message.group.id,
            true_false=true_false,
        )
        outcome = answered.outcome
        asked = quiz.bank.get(answered.question_id)
        if outcome is Outcome.COUNTED and asked is not None:
            day = message.at.astimezone(ZoneInfo(settings.timezone)).date()
            await stats.record_answer(
                quiz.redis, day, message.group, member, asked, answered.correct
            )
    if message.card:
        return Reply.text(messages.pressed(outcome, choice), intent=ACK_INTENT)
    return None


@router.message(start_command)
async def start(
    message: Message,
    member: str,
    words: list[str],
    kb: KnowledgeBase,
    admins: frozenset[str],
    quiz: QuizRounds | None = None,
) -> Reply | None:
    """Start a round in this group, if the sender is an admin."""
    if quiz is None:
        return None
    if message.group is None:
        return _quiz_reply("答题要在群里开始：请管理员在群里发“开始答题”。")
    if not is_admin(message, admins):
        return _quiz_reply("谢谢你的热情！答题活动由群管理员或民警发起，开始后大家一起来答。")
    group = message.group
    default_audience = None if group.kind is GroupKind.UNBOUND else group.kind.value
    try:
        plan = parse_plan(words, kb, default_audience)
    except BadRound as exc:
        return _quiz_reply(f"{exc}\n写法举例：开始答题；答题 5题 家长；答题 10题 刷单 30秒。")
    questions = quiz.bank.pick(
        plan.count, audience=plan.audience, scam=plan.scam, rng=random.Random()
    )
    if not questions:
        return _quiz_reply("题库里暂时没有符合要求的题目，换个范围再试试吧。")
    try:
        round_ = await quiz.start(
            group, questions, organiser=member, seconds=plan.seconds, at_ms=now_ms(message.at)
        )
    except RoundBusy:
        return _quiz_reply("本群已经有一轮答题在进行，想重新开始请先发“结束答题”。")
    return Reply.markdown(
        messages.announcement(round_), intent="quiz", choices=messages.choices(round_, 0)
    )


@router.message(text_is(*NEXT_WORDS, *END_WORDS), running_round)
async def advance(
    message: Message, member: str, admins: frozenset[str], quiz: QuizRounds, round_id: str
) -> Reply | None:
    """Close the current question now (下一题) or end the round (结束答题), for the organiser."""
    round_ = await quiz.get(round_id)
    if round_ is None:
        return None
    if member != round_.organiser and not is_admin(message, admins):
        return _quiz_reply("题目由发起答题的管理员来切换，请稍等。")
    finish = bare(message.text) in END_WORDS
    result = await close_round(quiz, round_id, force=True, finish=finish)
    if result is None:
        return None
    await quiz.announced(result[0])  # the reply posts it: the timer must not
    return Reply.markdown(result[1], intent="quiz", choices=messages.next_choices(result[0]))


def _quiz_reply(text: str) -> Reply:
    return Reply.text(text, intent="quiz")
