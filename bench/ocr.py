"""Screenshots against the text they show: OCR accuracy, the checker on both, time per image.

Each labelled message of tests/data/checker.tsv is drawn as a phone screenshot (noise, blur,
three scales, PNG and JPEG) and read back with the service's own reader. The baseline is the
checker on the original text in the same run: the image path should lose almost nothing.

Run: python -m bench.ocr [--limit N]
"""

from __future__ import annotations

import argparse
import csv
import re
import time
import unicodedata

from bot.answers.checker import RiskLevel, RiskRules
from bot.answers.ocr import TextReader, read_text
from bot.settings import PROJECT_ROOT
from tests.support.screenshots import HEADER, screenshot

CHECKER_TSV = PROJECT_ROOT / "tests" / "data" / "checker.tsv"
RULES = PROJECT_ROOT / "content" / "checker" / "rules.yaml"
SCALES = (1.0, 0.75, 0.6)


def _comparable(text: str) -> str:
    return re.sub(r"[\W_]+", "", unicodedata.normalize("NFKC", text)).lower()


def char_accuracy(read: str, truth: str) -> float:
    """Return 1 - edit distance / length, over letters and digits only."""
    a, b = _comparable(read), _comparable(truth)
    previous = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i]
        for j, cb in enumerate(b, 1):
            current.append(min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (ca != cb)))
        previous = current
    return max(0.0, 1 - previous[-1] / max(1, len(b)))


def _scores(flags: list[tuple[bool, bool]]) -> tuple[float, float]:
    hits = sum(1 for flagged, scam in flags if flagged and scam)
    precision = hits / max(1, sum(1 for flagged, _ in flags if flagged))
    recall = hits / max(1, sum(1 for _, scam in flags if scam))
    return precision, recall


def main() -> None:
    """Print OCR accuracy, checker precision/recall on images vs text, and seconds per image."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--limit", type=int, default=120)
    args = parser.parse_args()
    if not TextReader().available:
        raise SystemExit("RapidOCR is not installed: pip install -e '.[ocr]'")
    rules = RiskRules.load(RULES)
    with CHECKER_TSV.open(encoding="utf-8") as rows:
        labelled = [(r["label"], r["text"]) for r in csv.DictReader(rows, delimiter="\t")]
    step = max(1, len(labelled) // args.limit)  # spread over every label
    labelled = labelled[::step][: args.limit]
    read_text(screenshot("预热", 0))  # load the models before timing
    accuracy, on_text, on_image, seconds = [], [], [], 0.0
    for index, (label, text) in enumerate(labelled):
        image = screenshot(text, index, scale=SCALES[index % len(SCALES)])
        started = time.perf_counter()
        read = read_text(image)
        seconds += time.perf_counter() - started
        accuracy.append(char_accuracy(read, HEADER + text))
        scam = label != "none"
        on_text.append((rules.assess(text).level is not RiskLevel.NONE, scam))
        on_image.append((rules.assess(read).level is not RiskLevel.NONE, scam))
    text_p, text_r = _scores(on_text)
    image_p, image_r = _scores(on_image)
    print(f"images: {len(labelled)} (scales {SCALES}, PNG and JPEG, noise and blur)")
    print(f"OCR character accuracy: mean {sum(accuracy) / len(accuracy):.3f}, "
          f"worst {min(accuracy):.3f}")  # fmt: skip
    print(f"checker on text:   precision {text_p:.3f}  recall {text_r:.3f}")
    print(f"checker on images: precision {image_p:.3f}  recall {image_r:.3f}")
    print(f"recall ratio image/text: {image_r / max(text_r, 1e-9):.3f}")
    print(f"seconds per image (one worker, this machine): {seconds / len(labelled):.2f}")


if __name__ == "__main__":
    main()
