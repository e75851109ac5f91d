"""Bounded parsing of untrusted input: JSON, whole numbers and text that must encode.

Every parse here has a limit a hostile body cannot push past (nesting depth, digits, code
points that cannot be encoded), and every refusal is a BadInput carrying a Chinese reason,
so the web edge turns it into a 400 instead of a RecursionError, OverflowError or
UnicodeEncodeError deep inside a handler.
"""

from __future__ import annotations

import json
from typing import Any

MAX_JSON_DEPTH = 32  # our own bodies nest 3 levels deep; WeCom's about 4
MAX_JSON_INT = 2**63  # larger numbers are not ids or counts any channel sends


class BadInput(ValueError):
    """Untrusted input is unusable; `public` is the reason shown to a person (Chinese)."""

    def __init__(self, public: str, detail: str = "") -> None:
        super().__init__(detail or public)
        self.public = public


def _refuse_constant(name: str) -> Any:
    raise BadInput("请求不是合法的 JSON。", f"JSON constant {name}")


def loads(data: bytes | str) -> Any:
    """Return the JSON value in `data`, refusing deep nesting, huge numbers and lone surrogates."""
    try:
        text = data.decode("utf-8") if isinstance(data, bytes) else data
        value = json.loads(text, parse_constant=_refuse_constant)
    except UnicodeDecodeError:
        raise BadInput("请求内容不是合法的 UTF-8 文本。") from None
    except RecursionError:
        raise BadInput("JSON 嵌套太深。", "JSON nesting beyond the interpreter's limit") from None
    except ValueError as exc:  # JSONDecodeError, or an integer past Python's digit limit
        if isinstance(exc, BadInput):
            raise
        raise BadInput("请求不是合法的 JSON。", str(exc)) from None
    check_json(value)
    return value


def check_json(value: Any) -> None:
    """Refuse a decoded JSON value nested deeper than MAX_JSON_DEPTH or holding bad scalars."""
    check_text(json.dumps(value, ensure_ascii=False))  # C speed; fails on a lone surrogate
    level: list[Any] = [value]
    for _ in range(MAX_JSON_DEPTH):
        level = [
            child
            for node in level
            if isinstance(node, dict | list)
            for child in (node.values() if isinstance(node, dict) else node)
        ]
        if not level:
            return
        if any(type(node) is int and abs(node) >= MAX_JSON_INT for node in level):
            raise BadInput("JSON 里的数字太大了。", "JSON integer out of range")
    if any(isinstance(node, dict | list) for node in level):
        raise BadInput("JSON 嵌套太深。", f"JSON nested over {MAX_JSON_DEPTH} levels")


def check_text(*texts: str) -> None:
    """Refuse text that cannot be written as UTF-8 (a lone surrogate)."""
    for text in texts:
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            raise BadInput("内容里有无法识别的字符。", "lone surrogate in text") from None


def whole_number(raw: str | None, max_digits: int) -> int | None:
    """Return `raw` as a whole number of 1 to `max_digits` ASCII digits, else None."""
    if not raw or len(raw) > max_digits or not (raw.isascii() and raw.isdigit()):
        return None
    return int(raw)
