"""BM25 over whole entries, by jieba tokens and by syllables, for questions using no phrase."""

from __future__ import annotations

import logging
import math
from collections import Counter, defaultdict
from collections.abc import Sequence

import jieba

from bot.answers.content import Entry
from bot.answers.pinyin import Pinyin
from bot.answers.text import normalize
from bot.answers.variants import standardize

jieba.setLogLevel(logging.WARNING)

BM25_K1 = 1.2
BM25_B = 0.75
# Tokens found in more than this share of entries are not indexed.
COMMON_SHARE = 0.5
Postings = dict[str, tuple[tuple[int, float], ...]]
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


class Retriever:
    """BM25 over jieba tokens of each entry's full text, with term weights computed once."""

    def __init__(self, entries: Sequence[Entry]) -> None:
        self._tokenizer = jieba.Tokenizer()
        for entry in entries:
            for phrase in (entry.name, entry.short, *entry.aliases, *entry.triggers):
                self._tokenizer.add_word(standardize(normalize(phrase)), freq=2000)
        self._entries = list(entries)
        self._postings = _informative(
            _bm25_postings(
                [Counter(self.tokens(standardize(normalize(_document(e))))) for e in entries]
            ),
            len(entries),
        )

    def tokens(self, text: str) -> list[str]:
        """Split standardised `text` into tokens, dropping stop words and punctuation."""
        words = self._tokenizer.lcut_for_search(text, HMM=False)
        return [w for w in words if w not in STOP_TOKENS and any(c.isalnum() for c in w)]

    def scores(self, text: str) -> dict[int, float]:
        """Return the BM25 score of every entry sharing a token with the standardised `text`."""
        return _score(self._postings, set(self.tokens(text)))


class SoundRetriever:
    """BM25 over syllable pairs of each entry's text as heard, so a typed homophone (警擦,
    冻节) still counts even where it is no listed phrase."""

    def __init__(self, entries: Sequence[Entry], pinyin: Pinyin) -> None:
        self._pinyin = pinyin
        self._postings = _informative(
            _bm25_postings(
                [Counter(self.tokens(standardize(normalize(_body(e))))) for e in entries]
            ),
            len(entries),
        )

    def tokens(self, text: str) -> list[str]:
        """Return the pairs of neighbouring syllables of the Chinese runs in `text`."""
        return self._pinyin.pairs(text)

    def scores(self, text: str) -> dict[int, float]:
        """Return the BM25 score of every entry sharing a syllable pair with `text`."""
        return _score(self._postings, set(self.tokens(text)))


def _informative(postings: Postings, documents: int) -> Postings:
    """Drop tokens most entries share ("的时", "de shi"): they tell nothing and only cost time."""
    common = documents * COMMON_SHARE
    return {token: found for token, found in postings.items() if len(found) <= common}


def _score(postings: Postings, tokens: set[str]) -> dict[int, float]:
    """Return the summed BM25 weights of `tokens` per entry index."""
    scores: defaultdict[int, float] = defaultdict(float)
    for token in tokens:
        for index, weight in postings.get(token, ()):
            scores[index] += weight
    return scores


def _bm25_postings(docs: list[Counter[str]]) -> Postings:
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


def _body(entry: Entry) -> str:
    """Return an entry's prose and names: its listed phrases are heard by fuzzy.SoundMatcher."""
    return " ".join(
        (entry.name, entry.short, entry.summary, entry.how, entry.example, *entry.red_flags)
    )


def _document(entry: Entry) -> str:
    """Return the searchable text of an entry; names and phrases weigh more by repetition."""
    phrases = " ".join((entry.name, entry.short, *entry.aliases, *entry.triggers))
    body = " ".join(
        (entry.summary, entry.how, entry.example, *entry.red_flags, *entry.points, *entry.tags)
    )
    return f"{phrases} {phrases} {body}"
