"""Find the knowledge entry a resident's question is about.

Signals, each with cost independent of how many phrases are loaded: an Aho-Corasick automaton
over every name, alias and trigger; a second one over their pinyin, for homophones and typing
slips (贷宽, 客符); pinyin initials (gjf); and BM25 over jieba tokens of whole entries. The
text is first standardised (dialect words, shorthand, emoji). scorer.Calibration weighs the
signals and decides between a direct answer, a menu, and "I don't know"; a question with no
fraud vocabulary that reaches no confident answer is off-topic.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

import ahocorasick

from bot.answers.bm25 import Retriever, SoundRetriever
from bot.answers.content import Entry
from bot.answers.fuzzy import Owned, SoundMatcher
from bot.answers.pinyin import shared as shared_pinyin
from bot.answers.scorer import Calibration, Decision, Evidence, calibrated
from bot.answers.text import drop_decoys, normalize
from bot.answers.topicality import SOUND_CUE_MIN, Topicality
from bot.answers.variants import standardize

# Weight per character of a matched phrase, by where the phrase comes from.
PHRASE_WEIGHTS = {"name": 3, "alias": 3, "trigger": 2}
MENU_SIZE = 3


def clean(text: str) -> str:
    """Return `text` as every matcher sees it: normalised, standardised, decoys dropped."""
    return drop_decoys(standardize(normalize(text)))


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
    decision: Decision = Decision.UNKNOWN

    @property
    def confident(self) -> bool:
        """Return True when the bot may answer with `best` directly."""
        return self.best is not None

    @property
    def offtopic(self) -> bool:
        """Return True when the message is not about fraud at all."""
        return self.decision is Decision.OFFTOPIC


class PhraseMatcher:
    """Find the distinct names, aliases and triggers in a text, exactly or by sound."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        self._automaton = ahocorasick.Automaton()
        self._entries: list[Entry] = list(entries)
        owners = _phrase_owners(self._entries)
        for key, owned in owners.items():
            self._automaton.add_word(key, (key, owned))
        if owners:
            self._automaton.make_automaton()
        self.size = len(owners)
        self.sound = SoundMatcher(shared_pinyin(), owners)

    def exact(self, cleaned: str) -> dict[str, Owned]:
        """Return the phrases occurring in the cleaned text, each with its owners."""
        if not self.size:
            return {}
        return {key: owned for _, (key, owned) in self._automaton.iter(cleaned)}

    def candidates(self, text: str) -> list[Candidate]:
        """Return the entries whose phrases occur exactly in `text`, best first."""
        scores, phrases = _tally(self.exact(clean(text)))
        return [
            Candidate(self._entries[i], s, tuple(phrases[i]))
            for i, s in sorted(scores.items(), key=lambda item: (-item[1], item[0]))
        ]


def _phrase_owners(entries: Sequence[Entry]) -> dict[str, Owned]:
    """Return each cleaned phrase with the entries owning it, at the phrase's highest weight."""
    owners: dict[str, dict[int, int]] = {}
    for index, entry in enumerate(entries):
        for source, phrases in (
            ("name", (entry.name, entry.short)),
            ("alias", entry.aliases),
            ("trigger", entry.triggers),
        ):
            for phrase in phrases:
                key = clean(phrase)
                if key:  # a phrase counts once per entry, at its highest weight
                    weights = owners.setdefault(key, {})
                    weights[index] = max(weights.get(index, 0), PHRASE_WEIGHTS[source])
    return {key: tuple(owned.items()) for key, owned in owners.items()}


def _tally(found: Mapping[str, Owned]) -> tuple[dict[int, float], dict[int, list[str]]]:
    """Return per-entry phrase scores (weight x length) and the phrases behind them."""
    scores: dict[int, float] = defaultdict(float)
    phrases: dict[int, list[str]] = defaultdict(list)
    for key in _drop_contained(found):
        for index, weight in found[key]:
            scores[index] += weight * len(key)
            phrases[index].append(key)
    return scores, phrases


def _drop_contained(keys: Iterable[str]) -> list[str]:
    """Keep only phrases not inside a longer matched phrase, so "刷单返利" is not counted twice."""
    ordered = sorted(set(keys), key=len, reverse=True)
    kept: list[str] = []
    for key in ordered:
        if not any(key in longer for longer in kept):
            kept.append(key)
    return kept


class KnowledgeBase:
    """Every entry, indexed by id and short name, with the scored lookup."""

    def __init__(self, entries: Sequence[Entry], calibration: Calibration | None = None) -> None:
        self.entries = tuple(entries)
        self.by_id = {e.id: e for e in self.entries}
        self.by_short = {normalize(e.short): e for e in self.entries}
        self.phrases = PhraseMatcher(self.entries)
        self.retriever = Retriever(self.entries)
        self.heard = SoundRetriever(self.entries, shared_pinyin())
        # Entry names count as fraud words; aliases are too many to make the cue list flat.
        self.topicality = Topicality(
            shared_pinyin(), {clean(p) for e in self.entries for p in (e.name, e.short)} - {""}
        )
        self.calibration = calibration or calibrated()
        audiences: dict[str, set[int]] = defaultdict(set)
        for index, entry in enumerate(self.entries):
            for name in entry.audiences:
                audiences[name].add(index)
        self.audiences = {name: frozenset(found) for name, found in audiences.items()}

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
        return hits[0].entry if hits and clean(key) in hits[0].phrases else None

    def evidence(self, text: str, audience: str | None = None) -> Evidence:
        """Return every signal the question holds, per entry index."""
        cleaned = clean(text)
        exact = self.phrases.exact(cleaned)
        heard = {k: v for k, v in self.phrases.sound.hits(cleaned).items() if k not in exact}
        # A longer phrase heard by sound or initials is itself fraud vocabulary.
        heard_cues = sum(len(phrase) >= SOUND_CUE_MIN for phrase in heard)
        return Evidence(
            exact=_tally(exact)[0],
            sound=_tally(heard)[0],
            bm25=self.retriever.scores(cleaned),
            heard=self.heard.scores(cleaned),
            audience=self.audiences.get(audience or "", frozenset()),
            cues=self.topicality.cues(cleaned) + heard_cues,
        )

    def lookup(self, text: str, audience: str | None = None) -> Match:
        """Return the entry the question is about, the closest candidates, or neither."""
        return self.decide(self.evidence(text, audience), self.calibration)

    def decide(self, evidence: Evidence, calibration: Calibration) -> Match:
        """Turn the evidence into a decision with `calibration`'s weights and thresholds."""
        scored = calibration.scores(evidence)
        top = scored[0][0] if scored else 0.0
        runner_up = scored[1][0] if len(scored) > 1 else 0.0
        decision = calibration.decide(top, runner_up)
        if decision is not Decision.ANSWER and not evidence.cues:
            return Match(None, (), "none", Decision.OFFTOPIC)
        if decision is Decision.UNKNOWN:
            return Match(None, (), "none", Decision.UNKNOWN)
        ranked = tuple(
            Candidate(self.entries[i], s, ())
            for rank, (s, i) in enumerate(scored[:MENU_SIZE])
            if s >= calibration.menu or rank == 0
        )
        best = ranked[0] if decision is Decision.ANSWER else None
        return Match(best, ranked, "scored", decision)
