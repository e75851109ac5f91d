"""Hypothesis strategies for hostile requests: bodies, query strings and headers.

They mix well-shaped messages with broken ones: lone surrogates (as JSON escapes), deep
nesting, numbers of hundreds of digits, Unicode digits, wrong charsets, random bytes.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote_from_bytes

from hypothesis import strategies as st

# Any code point, lone surrogates included (hypothesis leaves them out by default).
anything = st.characters(exclude_categories=())
texts = st.text(anything, max_size=40)
chinese = st.text(st.characters(min_codepoint=0x4E00, max_codepoint=0x4FFF), max_size=12)
numbers = st.one_of(
    st.integers(-(10**400), 10**400).map(str),
    st.sampled_from(["", "-1", "0", "1e9", "１２３", "٣٤٥", "²", "1.5", " 7", "0x10", "NaN"]),
    st.integers(0, 2**40).map(str),
)
words = st.one_of(texts, chinese, numbers)

json_scalars = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**60), 10**60), st.floats(allow_nan=False), words
)
json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(words, inner, max_size=4),
    max_leaves=12,
)


def nested(depth: int) -> bytes:
    """Return a JSON document nested `depth` levels deep."""
    return b'{"a":' * depth + b"1" + b"}" * depth


def json_text(value: Any) -> bytes:
    """Return `value` as JSON, lone surrogates written as \\u escapes."""
    return json.dumps(value, ensure_ascii=True).encode()


def bodies(shaped: st.SearchStrategy[Any]) -> st.SearchStrategy[bytes]:
    """Return bodies: `shaped` objects, any JSON, deep nesting, huge numbers, random bytes."""
    return st.one_of(
        shaped.map(json_text),
        json_values.map(json_text),
        st.integers(20, 5000).map(nested),
        st.integers(300, 6000).map(lambda n: b'{"n": ' + b"9" * n + b"}"),
        st.binary(max_size=300),
        st.just(b""),
    )


CONTENT_TYPES = st.sampled_from(
    [
        "application/json",
        "application/json; charset=utf-8",
        "application/x-www-form-urlencoded",
        "application/x-www-form-urlencoded; charset=bogus",
        "application/x-www-form-urlencoded; charset=utf-16",
        "multipart/form-data; boundary=zz",
        "multipart/form-data",
        "text/xml",
        "text/plain; charset=latin-1",
        "application/problem+json",
    ]
)
# Header bytes: anything but CR, LF and NUL (http.client refuses those), Latin-1 and broken
# UTF-8 included, which aiohttp hands on as lone surrogates.
header_values = st.binary(max_size=40).map(
    lambda raw: raw.replace(b"\r", b"").replace(b"\n", b"").replace(b"\0", b"")
)


def headers() -> st.SearchStrategy[dict[str, str | bytes]]:
    """Return request headers that a hostile client may send."""
    return st.fixed_dictionaries(
        {"Content-Type": CONTENT_TYPES},
        optional={
            "Cookie": header_values,
            "X-Forwarded-For": header_values,
            "X-CSRF-Token": header_values,
            "Accept": st.sampled_from(["application/json", "text/html", "*/*"]),
            "Content-Encoding": st.sampled_from(["gzip", "br", "identity"]),
        },
    )


def queries(*names: str) -> st.SearchStrategy[dict[str, str]]:
    """Return query strings over `names` with hostile values (any may be missing)."""
    return st.fixed_dictionaries({}, optional={name: words for name in names})


def form_bodies(*names: str) -> st.SearchStrategy[bytes]:
    """Return urlencoded forms over `names` (percent-escaped random bytes included)."""
    value = st.one_of(
        words.map(lambda w: w.encode("utf-8", "surrogatepass")), st.binary(max_size=30)
    )
    fields = st.dictionaries(st.sampled_from(names), value, max_size=len(names))
    return fields.map(
        lambda form: "&".join(f"{k}={quote_from_bytes(v)}" for k, v in form.items()).encode()
    )
