"""Routing cost per question with 100 vs 10,000 phrases loaded (goal: ratio under 1.5), and
the cost per question of the full knowledge base as shipped (compare with main's run).

Run: python -m bench.routing
"""

from __future__ import annotations

import csv
import random
import time
from dataclasses import replace

from bot.answers.content import Entry, load_entries
from bot.answers.matcher import KnowledgeBase
from bot.settings import PROJECT_ROOT

QUESTIONS = PROJECT_ROOT / "tests" / "data" / "questions.tsv"
ROUNDS = 5
# Rare CJK characters, so synthetic phrases never occur in real questions by accident.
SYNTHETIC_CHARS = [chr(c) for c in range(0x4E00 + 15000, 0x4E00 + 20000)]


def with_extra_aliases(entries: tuple[Entry, ...], total: int, seed: int = 7) -> list[Entry]:
    """Return the entries padded with synthetic aliases so about `total` phrases are loaded."""
    rng = random.Random(seed)
    existing = sum(len(e.aliases) + len(e.triggers) + 2 for e in entries)
    extra = max(total - existing, 0)
    padded = []
    for index, entry in enumerate(entries):
        share = extra // len(entries) + (1 if index < extra % len(entries) else 0)
        fake = tuple(
            "".join(rng.choices(SYNTHETIC_CHARS, k=rng.randint(3, 6))) for _ in range(share)
        )
        padded.append(replace(entry, aliases=entry.aliases + fake))
    return padded


def trim_to(entries: tuple[Entry, ...], total: int) -> list[Entry]:
    """Return the entries cut down so about `total` phrases are loaded."""
    per_entry = max(total // len(entries) - 2, 1)
    return [
        replace(e, aliases=e.aliases[:1], triggers=e.triggers[: per_entry - 1]) for e in entries
    ]


def seconds_per_question(kb: KnowledgeBase, questions: list[str]) -> float:
    """Return the best-of-ROUNDS mean lookup CPU time (steadier when the machine is shared)."""
    best = float("inf")
    for _ in range(ROUNDS):
        start = time.process_time()
        for question in questions:
            kb.lookup(question)
        best = min(best, (time.process_time() - start) / len(questions))
    return best


def main() -> None:
    entries = load_entries(PROJECT_ROOT / "content")
    with QUESTIONS.open(encoding="utf-8") as handle:
        questions = [row["question"] for row in csv.DictReader(handle, delimiter="\t")]
    full = KnowledgeBase(entries)
    # The same real phrases in both, so every question matches the same way; the large side only
    # adds synthetic phrases that never occur, which is what loading more aliases costs.
    base = trim_to(entries, 100)
    small = KnowledgeBase(base)
    large = KnowledgeBase(with_extra_aliases(tuple(base), 10_000))
    seconds_per_question(small, questions)  # warm caches
    t_small = seconds_per_question(small, questions)
    t_large = seconds_per_question(large, questions)
    print(f"phrases loaded: {small.phrases.size} vs {large.phrases.size}")
    print(f"routing per question: {t_small * 1e6:.1f} us vs {t_large * 1e6:.1f} us")
    print(f"ratio large/small: {t_large / t_small:.2f} (goal < 1.5)")
    seconds_per_question(full, questions)
    t_full = seconds_per_question(full, questions)
    print(f"full knowledge base: {t_full * 1e6:.1f} us per question")


if __name__ == "__main__":
    main()
