"""Everything loaded from content/ at start-up, validated together."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bot.answers.checker import RiskRules, RiskRulesError
from bot.answers.content import ContentError, Entry, Problem, load_entries
from bot.answers.matcher import KnowledgeBase
from bot.answers.render import Renderer
from bot.articles.loader import load_articles
from bot.articles.model import Article
from bot.quiz.bank import QuizBank, load_quiz

RISK_RULES_FILE = Path("checker") / "rules.yaml"
QUIZ_DIR = Path("quiz")


@dataclass(frozen=True, slots=True)
class Library:
    """The knowledge base, the checker's rules, the reply templates and the quiz bank."""

    kb: KnowledgeBase
    risk: RiskRules
    render: Renderer
    quiz: QuizBank
    # File articles (content/alerts, content/letters) by item id; see bot.articles.store.
    articles: dict[str, Article]


def load_library(content_dir: Path) -> Library:
    """Load and validate all content; raise ContentError naming every bad file and field."""
    problems: list[Problem] = []
    entries: tuple[Entry, ...] = ()
    try:
        entries = load_entries(content_dir)
    except ContentError as exc:
        problems += exc.problems
    rules_path = content_dir / RISK_RULES_FILE
    risk: RiskRules | None = None
    try:
        risk = RiskRules.load(rules_path)
    except RiskRulesError as exc:
        problems.append(Problem(rules_path, 1, exc.field, exc.reason))
    except OSError as exc:
        problems.append(Problem(rules_path, 1, "-", f"unreadable: {exc.strerror}"))
    render = Renderer(content_dir / "templates")
    problems += render.problems()
    # Scam ids equal their file names (checked by load_entries), even when an entry is invalid.
    scam_ids = {path.stem for path in (content_dir / "scams").glob("*.yaml")}
    quiz, quiz_problems = load_quiz(content_dir / QUIZ_DIR, scam_ids)
    problems += quiz_problems
    articles, article_problems = load_articles(content_dir, scam_ids)
    problems += article_problems
    if problems or risk is None:
        raise ContentError(problems)
    return Library(KnowledgeBase(entries), risk, render, quiz, articles)
