"""Page rounds (/quiz/<round>?g=<code>) and the pledge page (/pledge?g=<code>).

For groups the bot cannot talk in (push-only robots, forward-only personal WeChat groups) the
quiz and the pledge live on a page opened through the group's link code. The player is the
page cookie as a keyed hash, like an article reader; every form carries a single-use token
bound to that player, so a forged or replayed POST changes nothing.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from bot import appkeys
from bot.articles import links
from bot.models import Group
from bot.quiz import pledges, stats
from bot.quiz.bank import LETTERS
from bot.quiz.model import Outcome, Round
from bot.quiz.rounds import MAX_NAME_CHARS, QuizRounds
from bot.store import keys
from bot.store.groups import GroupRegistry
from bot.web.articles import html_page, keep_reader, local_day, not_found, reader_of

FORM_TTL_SECONDS = 6 * 3600
MAX_FIELD = 100


@dataclass(frozen=True, slots=True)
class Player:
    """Who is on the page, through which group's link."""

    group: Group
    code: str
    cookie: str
    member: str


async def _player(request: web.Request) -> Player | None:
    """Return the group behind ?g= and the page's player, or None for an unknown link."""
    redis = request.app[appkeys.REDIS]
    code = request.query.get("g", "")
    target = await links.resolve(redis, code) if code else None
    group = await GroupRegistry(redis).get(target.group_id) if target else None
    if group is None:
        return None
    cookie, member = reader_of(request)
    return Player(group, code, cookie, member)


async def _issue(request: web.Request, purpose: str, player: Player) -> str:
    """Store a single-use form token for `purpose` and this player; return it."""
    token = secrets.token_urlsafe(24)
    rounds = _rounds(request)
    value = f"{purpose}|{player.member}|{rounds.now()}"
    await request.app[appkeys.REDIS].set(keys.page_form(token), value, ex=FORM_TTL_SECONDS)
    return token


async def _redeem(request: web.Request, purpose: str, player: Player, token: str) -> int | None:
    """Consume the form token; return when its page was opened, or None for a bad token."""
    if not token or len(token) > MAX_FIELD:
        return None
    stored = await request.app[appkeys.REDIS].getdel(keys.page_form(token))
    if stored is None:
        return None
    got_purpose, member, issued = str(stored).split("|")
    expected = f"{purpose}|{player.member}"
    if not hmac.compare_digest(f"{got_purpose}|{member}", expected):
        return None
    return int(issued)


def _rounds(request: web.Request) -> QuizRounds:
    return QuizRounds(request.app[appkeys.REDIS], request.app[appkeys.LIBRARY].quiz)


def _respond(request: web.Request, player: Player, template: str, status: int = 200,
             **context: Any) -> web.Response:  # fmt: skip
    response = html_page(request, template, status, group=player.group, **context)
    keep_reader(response, request, player.cookie)
    return response


async def _page_round(request: web.Request) -> tuple[Round, Player] | None:
    round_ = await _rounds(request).get(request.match_info["round_id"])
    player = await _player(request)
    if round_ is None or round_.mode != "page" or player is None:
        return None
    if player.group.id != round_.group_id:
        return None
    return round_, player


async def show_round(request: web.Request) -> web.Response:
    """Show the round's questions as a form, the player's result, or the final board."""
    found = await _page_round(request)
    if found is None:
        return not_found(request)
    round_, player = found
    return await _round_page(request, round_, player)


async def _round_page(
    request: web.Request, round_: Round, player: Player, error: str = "", status: int = 200
) -> web.Response:
    rounds = _rounds(request)
    chosen = await rounds.choices(round_.id, player.member, len(round_.questions))
    board = await rounds.leaderboard(round_.id) if not round_.open else []
    answered = any(choice is not None for choice in chosen)
    token = await _issue(request, f"quiz:{round_.id}", player) if round_.open else ""
    score = await rounds.redis.zscore(keys.quiz_scores(round_.id), player.member)
    return _respond(
        request,
        player,
        "quiz.html.j2",
        status,
        round=round_,
        letters=LETTERS,
        chosen=chosen,
        answered=answered,
        right=[c == q.letter for q, c in zip(round_.questions, chosen, strict=True)],
        score=int(score or 0),
        board=board,
        token=token if not answered else "",
        error=error,
        action=f"/quiz/{round_.id}?g={player.code}",
        name_limit=MAX_NAME_CHARS,
    )


async def answer_round(request: web.Request) -> web.Response:
    """Score a submitted page: every answer through the same Lua as the chat."""
    found = await _page_round(request)
    if found is None:
        return not_found(request)
    round_, player = found
    form = await request.post()
    opened = await _redeem(request, f"quiz:{round_.id}", player, str(form.get("token", "")))
    if opened is None:
        return html_page(request, "refused.html.j2", 403)
    name = " ".join(str(form.get("name", "")).split())
    letters = [str(form.get(f"q{i}", "")) for i in range(len(round_.questions))]
    problem = _form_problem(round_, name, letters)
    if problem:
        return await _round_page(request, round_, player, problem, 400)
    rounds = _rounds(request)
    day = local_day(request.app[appkeys.SETTINGS])
    for index, (question, letter) in enumerate(zip(round_.questions, letters, strict=True)):
        result = await rounds.answer(
            round_.id,
            player.member,
            letter,
            rounds.now(),
            question=index,
            name=name,
            group_id=player.group.id,
            opened_ms=opened,
        )
        if result.outcome is Outcome.COUNTED:
            await stats.record_answer(
                rounds.redis, day, player.group, player.member, question, result.correct
            )
    return await _round_page(request, round_, player)


def _form_problem(round_: Round, name: str, letters: list[str]) -> str:
    """Return the Chinese reason a page form cannot be taken, or "" when it can."""
    if not name:
        return "请填写一个称呼，排行榜上会显示它。"
    if len(name) > MAX_NAME_CHARS:
        return f"称呼最多 {MAX_NAME_CHARS} 个字。"
    for index, (question, letter) in enumerate(zip(round_.questions, letters, strict=True)):
        if letter not in LETTERS[: len(question.options)]:
            return f"第 {index + 1} 题还没有选答案。"
    return ""


async def show_pledge(request: web.Request) -> web.Response:
    """Show the pledge and its button, or the thanks when this player already pledged."""
    player = await _player(request)
    if player is None:
        return not_found(request)
    return await _pledge_page(request, player, done=False)


async def take_pledge(request: web.Request) -> web.Response:
    """Record the pledge posted from the page, once per player and group."""
    player = await _player(request)
    if player is None:
        return not_found(request)
    form = await request.post()
    if await _redeem(request, "pledge", player, str(form.get("token", ""))) is None:
        return html_page(request, "refused.html.j2", 403)
    redis = request.app[appkeys.REDIS]
    day = local_day(request.app[appkeys.SETTINGS])
    await pledges.pledge(redis, day, player.group, player.member)
    return await _pledge_page(request, player, done=True)


async def _pledge_page(request: web.Request, player: Player, *, done: bool) -> web.Response:
    redis = request.app[appkeys.REDIS]
    done = done or bool(await redis.sismember(keys.pledges(player.group.id), player.member))
    token = "" if done else await _issue(request, "pledge", player)
    return _respond(
        request,
        player,
        "pledge.html.j2",
        pledge_text=pledges.PLEDGE_TEXT,
        count=await pledges.pledge_count(redis, player.group.id),
        done=done,
        token=token,
        action=f"/pledge?g={player.code}",
    )
