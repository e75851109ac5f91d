"""Find the knowledge entry a resident's question is about.

Two stages: an Aho-Corasick automaton over every name, alias and trigger phrase (cost
independent of how many phrases are loaded), then BM25 over jieba tokens of whole entries
for questions that use none of the phrases.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import ahocorasick
import jieba

from bot.answers.content import Entry
from bot.answers.text import normalize

jieba.setLogLevel(logging.WARNING)

# Weight per character of a matched phrase, by where the phrase comes from.
PHRASE_WEIGHTS = {"name": 3, "alias": 3, "trigger": 2}
# The bot answers directly when the best combined score clears MIN_SCORE and leads the
# runner-up by MARGIN; otherwise it offers the closest topics as a menu.
MIN_SCORE = 7.0
MARGIN = 1.2
# Candidates scoring below this are noise, not worth offering in a menu.
MENU_MIN_SCORE = 5.0
BM25_K1 = 1.2
BM25_B = 0.75
STOP_TOKENS = frozenset(
    [
        "的",
        "了",
        "吗",
        "呢",
        "吧",
        "啊",
        "我",
        "你",
        "他",
        "她",
        "是",
        "在",
        "有",
        "和",
        "就",
        "都",
        "要",
        "说",
        "让",
        "给",
        "这",
        "那",
        "个",
        "么",
        "什么",
        "怎么",
        "一个",
        "我们",
        "他们",
        "人",
        "会",
        "不",
        "也",
        "还",
        "被",
        "把",
        "去",
        "看",
        "好",
        "没",
        "能",
        "对",
        "到",
        "又",
        "很",
        "就是",
        "可以",
        "这个",
        "那个",
        "自己",
        "现在",
        "然后",
        "真的",
        "请问",
        "一下",
        "啥",
    ]
)


@dataclass(frozen=True, slots=True)
class Candidate:
    """An entry and how strongly the question points at it."""

    entry: Entry
    score: float
    phrases: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Match:
    """The outcome of looking a question up: a confident answer, close candidates, or none."""

    best: Candidate | None
    candidates: tuple[Candidate, ...]
    method: str

    @property
    def confident(self) -> bool:
        """Return True when the bot may answer with `best` directly."""
        return self.best is not None


class PhraseMatcher:
    """Score entries by the distinct names, aliases and triggers found in a text."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        self._automaton = ahocorasick.Automaton()
        owners: dict[str, dict[int, int]] = {}
        self._entries: list[Entry] = list(entries)
        for index, entry in enumerate(self._entries):
            for source, phrases in (
                ("name", (entry.name, entry.short)),
                ("alias", entry.aliases),
                ("trigger", entry.triggers),
            ):
                for phrase in phrases:
                    key = normalize(phrase)
                    if key:  # a phrase counts once per entry, at its highest weight
                        weights = owners.setdefault(key, {})
                        weights[index] = max(weights.get(index, 0), PHRASE_WEIGHTS[source])
        for key, owned in owners.items():
            self._automaton.add_word(key, (key, tuple(owned.items())))
        self._automaton.make_automaton()
        self.size = len(owners)

    def candidates(self, text: str) -> list[Candidate]:
        """Return the entries whose phrases occur in `text`, best first."""
        found: dict[str, tuple[tuple[int, int], ...]] = {}
        if self.size:
            for _, (key, owned) in self._automaton.iter(normalize(text)):
                found[key] = owned
        scores: Counter[int] = Counter()
        phrases: dict[int, list[str]] = {}
        for key in _drop_contained(found):
            for index, weight in found[key]:
                scores[index] += weight * len(key)
                phrases.setdefault(index, []).append(key)
        return [
            Candidate(self._entries[i], float(s), tuple(phrases[i]))
            for i, s in sorted(scores.items(), key=lambda item: (-item[1], item[0]))
        ]


def _drop_contained(keys: Iterable[str]) -> list[str]:
    """Keep only phrases not inside a longer matched phrase, so "刷单返利" is not counted twice."""
    ordered = sorted(set(keys), key=len, reverse=True)
    kept: list[str] = []
    for key in ordered:
        if not any(key in longer for longer in kept):
            kept.append(key)
    return kept


class Retriever:
    """BM25 over jieba tokens of each entry's full text, with term weights computed once."""

    def __init__(self, entries: Sequence[Entry]) -> None:
        self._tokenizer = jieba.Tokenizer()
        for entry in entries:
            for phrase in (entry.name, entry.short, *entry.aliases, *entry.triggers):
                self._tokenizer.add_word(normalize(phrase), freq=2000)
        self._entries = list(entries)
        self._postings = _bm25_postings([Counter(self.tokens(_document(e))) for e in entries])

    def tokens(self, text: str) -> list[str]:
        """Split `text` into searchable tokens, dropping stop words and punctuation."""
        words = self._tokenizer.lcut_for_search(normalize(text))
        return [w for w in words if w not in STOP_TOKENS and any(c.isalnum() for c in w)]

    def candidates(self, text: str, limit: int = 3) -> list[Candidate]:
        """Return up to `limit` entries by BM25 score, best first."""
        scores: dict[int, float] = {}
        for token in set(self.tokens(text)):
            for index, weight in self._postings.get(token, ()):
                scores[index] = scores.get(index, 0.0) + weight
        best = sorted(scores.items(), key=lambda item: -item[1])[:limit]
        return [Candidate(self._entries[i], s) for i, s in best if s > 0]


def _bm25_postings(docs: list[Counter[str]]) -> dict[str, tuple[tuple[int, float], ...]]:
    """Return, per token, the BM25 weight it contributes to each document containing it."""
    lengths = [sum(doc.values()) for doc in docs]
    average = sum(lengths) / max(len(lengths), 1)
    frequency: Counter[str] = Counter()
    for doc in docs:
        frequency.update(doc.keys())
    postings: dict[str, list[tuple[int, float]]] = {}
    for index, (doc, length) in enumerate(zip(docs, lengths, strict=True)):
        norm = BM25_K1 * (1 - BM25_B + BM25_B * length / average)
        for token, tf in doc.items():
            n = frequency[token]
            idf = math.log(1 + (len(docs) - n + 0.5) / (n + 0.5))
            postings.setdefault(token, []).append((index, idf * tf * (BM25_K1 + 1) / (tf + norm)))
    return {token: tuple(entries) for token, entries in postings.items()}


def _document(entry: Entry) -> str:
    """Return the searchable text of an entry; names and phrases weigh more by repetition."""
    phrases = " ".join((entry.name, entry.short, *entry.aliases, *entry.triggers))
    body = " ".join(
        (entry.summary, entry.how, entry.example, *entry.red_flags, *entry.points, *entry.tags)
    )
    return f"{phrases} {phrases} {body}"


class KnowledgeBase:
    """Every entry, indexed by id and short name, with the two-stage lookup."""

    def __init__(self, entries: Sequence[Entry]) -> None:
        self.entries = tuple(entries)
        self.by_id = {e.id: e for e in self.entries}
        self.by_short = {normalize(e.short): e for e in self.entries}
        self.phrases = PhraseMatcher(self.entries)
        self.retriever = Retriever(self.entries)

    @property
    def scams(self) -> tuple[Entry, ...]:
        """Return the scam entries in file order."""
        return tuple(e for e in self.entries if e.kind == "scam")

    @property
    def topics(self) -> tuple[Entry, ...]:
        """Return the general topics in file order."""
        return tuple(e for e in self.entries if e.kind == "topic")

    def find(self, name: str) -> Entry | None:
        """Return the entry called `name` (id, short name, full name or alias), if any."""
        key = normalize(name)
        if key in self.by_short or key in self.by_id:
            return self.by_short.get(key) or self.by_id[key]
        hits = self.phrases.candidates(key)
        return hits[0].entry if hits and key in hits[0].phrases else None

    def lookup(self, text: str) -> Match:
        """Return the entry the question is about, or the closest candidates.

        Phrase and BM25 scores add up, so a phrase that belongs to one scam can be outvoted by
        the rest of the question pointing clearly at another.
        """
        scores: dict[str, float] = {}
        phrases: dict[str, tuple[str, ...]] = {}
        for hit in self.phrases.candidates(text):
            scores[hit.entry.id] = scores.get(hit.entry.id, 0.0) + hit.score
            phrases[hit.entry.id] = hit.phrases
        for hit in self.retriever.candidates(text, limit=len(self.entries)):
            scores[hit.entry.id] = scores.get(hit.entry.id, 0.0) + hit.score
        best = sorted(scores.items(), key=lambda item: -item[1])[:3]
        ranked = [
            Candidate(self.by_id[i], s, phrases.get(i, ())) for i, s in best if s >= MENU_MIN_SCORE
        ]
        if not ranked:
            return Match(None, (), "none")
        top, runner_up = ranked[0].score, ranked[1].score if len(ranked) > 1 else 0.0
        method = "phrase" if ranked[0].phrases else "bm25"
        confident = top >= MIN_SCORE and top >= MARGIN * runner_up
        return Match(ranked[0] if confident else None, tuple(ranked), method)
