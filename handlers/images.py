"""Check a screenshot residents forward: read its text, then give the checker's verdict."""

from __future__ import annotations

import re

from bot.answers.checker import Assessment, RiskRules, fold
from bot.answers.images import ImageRefused
from bot.answers.matcher import KnowledgeBase
from bot.answers.ocr import OcrBusy, OcrUnavailable, TextReader
from bot.answers.render import Renderer
from bot.filters import addressed
from bot.models import Message, Reply
from bot.router import Router

router = Router("images")

IMAGE_INTENT = "image_check"
IMAGE_TOPIC = "_image"
SHOWN_CHARS = 300


def sent_an_image(message: Message) -> dict[str, object] | None:
    """Pass when the message carries an image."""
    return {"image": message.image} if message.image is not None else None


@router.message(addressed, sent_an_image)
async def check_image(
    image: bytes, ocr: TextReader, risk: RiskRules, kb: KnowledgeBase, render: Renderer
) -> Reply:
    """Read the screenshot's text, show it with the risky parts marked, and judge it."""
    try:
        text = await ocr.read(image)
    except ImageRefused as exc:
        return _unreadable(render, exc.reason)
    except OcrBusy:
        return _unreadable(render, "busy")
    except OcrUnavailable:
        return _unreadable(render, "unavailable")
    if not text.strip():
        return _unreadable(render, "empty")
    assessment = risk.assess(text)
    scam = kb.by_id.get(assessment.scam_hint) if assessment.scam_hint else None
    lines, cut = marked_lines(text, assessment)
    body = render("check_image.md.j2", lines=lines, cut=cut, assessment=assessment, scam=scam)
    return Reply.markdown(body, intent=IMAGE_INTENT, topic=IMAGE_TOPIC)


def marked_lines(text: str, assessment: Assessment) -> tuple[list[str], bool]:
    """Return the read lines (as the checker saw them) with each red flag's words in bold."""
    patterns = [p for rule in assessment.fired for p in rule.patterns]
    lines: list[str] = []
    shown = 0
    for raw in text.splitlines():
        line = fold(raw)
        if not line:
            continue
        if shown + len(line) > SHOWN_CHARS:
            return lines, True
        shown += len(line)
        lines.append(_mark(line, patterns))
    return lines, False


def _mark(line: str, patterns: list[re.Pattern[str]]) -> str:
    spans = sorted(m.span() for p in patterns for m in p.finditer(line) if m.end() > m.start())
    merged: list[list[int]] = []
    for start, end in spans:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    out, last = [], 0
    for start, end in merged:
        out += [line[last:start], f"**{line[start:end]}**"]
        last = end
    return "".join([*out, line[last:]])


def _unreadable(render: Renderer, reason: str) -> Reply:
    return Reply.text(render("image_unreadable.md.j2", reason=reason), intent=IMAGE_INTENT,
                      topic=IMAGE_TOPIC)  # fmt: skip
