"""Held-out accuracy of the answer path, by category, with confusion lists.

Questions (top-1, direct answers, off-topic declines), the checker (precision / recall, 可疑 and
高风险 both count as flagged) and group chatter (speak / silent). Only the held-out split is
measured; calibration is fitted on the tuning split. Run: python -m bench.answers [--split tune]
"""

from __future__ import annotations

import argparse

from bot.answers import evaluate, labelled
from bot.library import load_library
from bot.settings import PROJECT_ROOT

CONFUSIONS_SHOWN = 25


def show(title: str, tally: evaluate.Tally) -> None:
    """Print a tally, its categories and its most common confusions."""
    print(f"{title}: {tally.rate:.1%} ({tally.hits}/{tally.rows})")
    for category, counts in sorted(tally.by.items()):
        print(f"    {category:<22} {counts['hits'] / counts['rows']:6.1%}  of {counts['rows']}")
    for (expected, got), count in tally.confusion.most_common(CONFUSIONS_SHOWN):
        print(f"    confused {count} x  {expected} -> {got}")


def main() -> None:
    """Print every report for one split (held out by default)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--split", default=labelled.HELDOUT, choices=[labelled.HELDOUT, labelled.TUNE]
    )
    split = parser.parse_args().split
    library = load_library(PROJECT_ROOT / "content")
    report = evaluate.questions(library.kb, labelled.questions(split))
    print(f"== questions ({split})")
    show("top-1", report.top1)
    show("direct answer right", report.direct)
    show("off-topic declined", report.declined)
    checked = evaluate.checker(library.risk, labelled.checker(split))
    print(f"== checker ({split}): precision {checked.precision:.3f}  recall {checked.recall:.3f}")
    show("flagged as labelled", checked.right)
    for (label, level), count in sorted(checked.levels.items()):
        print(f"    {label:<10} -> {level:<10} {count}")
    for miss in checked.misses:
        print(f"    miss: {miss[:110]}")
    print(f"== group chatter ({split})")
    for label, tally in sorted(
        evaluate.chatter(library.kb, library.risk, labelled.chatter(split)).items()
    ):
        show(f"{label} right", tally)


if __name__ == "__main__":
    main()
