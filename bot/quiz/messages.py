"""What a round posts in the group: questions, the answer at close, the leaderboard."""

from __future__ import annotations

import re

from bot.models import Choices
from bot.quiz.bank import LETTERS, Question
from bot.quiz.model import Closed, Outcome, Round, Standing

MEDALS = ("🥇", "🥈", "🥉")
_CARD_KEY = re.compile(r"quiz-([0-9a-f]{1,32})-(\d{1,3})")


def choices(round_: Round, index: int) -> Choices:
    """Return the answer buttons of question `index`, keyed by round and question."""
    options = len(round_.questions[index].options)
    title = f"第 {index + 1}/{len(round_.questions)} 题：点选你的答案"
    return Choices(f"quiz-{round_.id}-{index}", title, tuple(LETTERS[:options]))


def card_question(key: str, round_id: str) -> int | None:
    """Return the question index a card key names in round `round_id`; None for another round."""
    found = _CARD_KEY.fullmatch(key)
    if found is None or found.group(1) != round_id:
        return None
    return int(found.group(2))


def pressed(outcome: Outcome, choice: str) -> str:
    """Return what the presser's card shows in place of its buttons after a press."""
    if outcome is Outcome.COUNTED:
        return f"已提交：{choice}"
    if outcome is Outcome.DUPLICATE:
        return "本题你已作答"
    if outcome is Outcome.NOT_AN_OPTION:
        return "没有这个选项"
    return "本题已截止"


def next_choices(closed: Closed) -> Choices | None:
    """Return the buttons of the question a close opens (None when the round finished)."""
    round_ = closed.round
    if round_.mode == "page" or closed.finished:
        return None
    return choices(round_, round_.current)


def question_text(round_: Round, index: int) -> str:
    """Return question `index` with its options and how to answer."""
    question = round_.questions[index]
    options = "\n".join(f"{LETTERS[i]}. {text}" for i, text in enumerate(question.options))
    how = (
        "回复“对”或“错”（也可以回 A 或 B）" if question.kind == "truefalse" else "直接回复选项字母"
    )
    return (
        f"**第 {index + 1}/{len(round_.questions)} 题**（{round_.seconds} 秒内作答）\n"
        f"{question.text}\n{options}\n> {how}，每人只算第一次回答。"
    )


def announcement(round_: Round) -> str:
    """Return the opening of a chat round followed by its first question."""
    return (
        f"📣 反诈知识小竞赛开始啦！共 {len(round_.questions)} 题，"
        f"答对一题得 10 分，答得越快最多再加 5 分。\n\n{question_text(round_, 0)}"
    )


def reveal(question: Question, index: int, answers: int, correct: int) -> str:
    """Return the correct answer, the rule behind it and how many got it right."""
    tally = f"本题 {answers} 人作答，{correct} 人答对。" if answers else "这道题还没有人作答。"
    return (
        f"⏰ 第 {index + 1} 题答案：**{question.letter}. {question.options[question.answer]}**\n"
        f"{question.explain}\n{tally}"
    )


def leaderboard_text(standings: list[Standing], title: str = "本轮答题结束") -> str:
    """Return the leaderboard, best first."""
    if not standings:
        return f"🏁 {title}，这一轮没有人答题。下次欢迎大家一起来！"
    rows = []
    for place, standing in enumerate(standings):
        mark = MEDALS[place] if place < len(MEDALS) else f"{place + 1}."
        name = standing.name or "匿名"
        rows.append(f"{mark} {name}　{standing.score} 分（答对 {standing.correct} 题）")
    board = "\n".join(rows)
    return (
        f"🏁 {title}！排行榜：\n{board}\n同分时用时少的排前面。谢谢大家参与，防骗知识要常记心上。"
    )


def after_close(closed: Closed, answers: int, correct: int, board: list[Standing]) -> str:
    """Return everything posted when a question closes: answer, then next question or board."""
    round_ = closed.round
    if round_.mode == "page":
        return leaderboard_text(board, "网页答题已截止")
    parts = [reveal(round_.questions[closed.question], closed.question, answers, correct)]
    if closed.finished:
        parts.append(leaderboard_text(board))
    else:
        parts.append(question_text(round_, round_.current))
    return "\n\n".join(parts)
