"""The monthly report for a seeded month matches an independent tally of the recorded events."""

from __future__ import annotations

import asyncio
import io
import os
import random
import re
import shutil
import subprocess
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest
from openpyxl import load_workbook
from redis.asyncio import Redis

from bot.channels.simulator import Simulator
from bot.cli.main import main
from bot.dashboard import report_xlsx
from bot.dashboard.issuer import Issuer
from bot.dashboard.period import BadRequest, month
from bot.dashboard.snapshot import collect
from bot.library import Library
from bot.models import Group, GroupKind
from bot.quiz.bank import TRUE_FALSE, Question
from bot.quiz.pledges import claim_app, pledge
from bot.quiz.stats import record_answer
from bot.service import ChatService
from bot.store import keys, reach
from bot.store.embedded import EmbeddedRedis
from bot.store.groups import GroupRegistry
from bot.store.reach import Measure, Unique

TOWN = "城关镇"
# (id, kind, region, members, share of the member pool that reads): well-separated coverages.
GROUPS = (
    ("g-xingfu-1", GroupKind.VILLAGE, "城关镇/幸福村", 200, 0.9),
    ("g-xingfu-2", GroupKind.PARENTS, "城关镇/幸福村/幸福小学", 60, 0.9),
    ("g-dongjie", GroupKind.ELDERLY, "城关镇/东街社区", 150, 0.6),
    ("g-yuanqu", GroupKind.ENTERPRISE, "城关镇/工业园区", 120, 0.4),
    ("g-xinhe", GroupKind.VILLAGE, "城关镇/新河村", 300, 0.15),
    ("g-shiyan", GroupKind.PARENTS, "城关镇/实验小学", 80, 0.05),
    ("g-empty", GroupKind.VILLAGE, "城关镇/石桥村", 0, 0.0),
    ("g-hexi", GroupKind.VILLAGE, "河西镇/河西村", 100, 0.5),
)
QUESTIONS = ("刷单返利是真的吗", "冒充客服说要退款", "网上贷款要先交保证金", "今天天气怎么样")
# Share of correct answers per scam ("" = general questions): the weakest is daikuan.
QUIZ_SKILL = {"shuadan": 0.9, "kefu": 0.7, "daikuan": 0.2, "": 0.6}
NOVEMBER = [date(2026, 11, 1) + timedelta(days=n) for n in range(30)]
OUTSIDE = [date(2026, 10, 31), date(2026, 12, 1)]


@dataclass
class Tally:
    """What the test itself counted while recording, per region prefix."""

    counts: dict[str, Counter[Measure]] = field(default_factory=lambda: defaultdict(Counter))
    by_day: dict[tuple[str, date], Counter[Measure]] = field(
        default_factory=lambda: defaultdict(Counter)
    )
    readers: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    topics: Counter[str] = field(default_factory=Counter)
    unmatched: list[str] = field(default_factory=list)
    pledgers: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    quiz: dict[str, tuple[int, int]] = field(default_factory=lambda: defaultdict(lambda: (0, 0)))

    def add(self, group: Group, day: date, measure: Measure, amount: int) -> None:
        if day not in NOVEMBER:
            return
        for prefix in _prefixes(group.region):
            self.counts[prefix][measure] += amount
            self.by_day[(prefix, day)][measure] += amount


def _prefixes(region: str) -> list[str]:
    parts = region.split("/")
    return ["/".join(parts[:depth]) for depth in range(1, len(parts) + 1)]


def _groups() -> list[Group]:
    return [Group(gid, gid, kind, region, members) for gid, kind, region, members, _ in GROUPS]


async def _record_day(redis: Redis, rng: random.Random, day: date, tally: Tally) -> None:
    promises: list[tuple[Group, str, bool]] = []
    async with redis.pipeline(transaction=False) as pipe:
        for group, (*_, share) in zip(_groups(), GROUPS, strict=True):
            pool = [f"{group.id}-m{n}" for n in range(int(group.members * share))]
            sent, failed = rng.randint(0, 3), rng.randint(0, 1)
            for measure, amount in ((Measure.PUSHES_SENT, sent), (Measure.PUSHES_FAILED, failed)):
                if amount:
                    reach.record(pipe, day, group, measure, amount)
                    tally.add(group, day, measure, amount)
            for member in rng.sample(pool, k=min(len(pool), rng.randint(0, 40))):
                reach.record(pipe, day, group, Measure.VIEWS)
                reach.record_unique(pipe, day, group, Unique.READERS, member)
                tally.add(group, day, Measure.VIEWS, 1)
                if day in NOVEMBER:
                    for prefix in _prefixes(group.region):
                        tally.readers[prefix].add(member)
                if rng.random() < 0.5:
                    reach.record(pipe, day, group, Measure.RECEIPTS)
                    tally.add(group, day, Measure.RECEIPTS, 1)
                if rng.random() < 0.08:
                    promises.append((group, member, rng.random() < 0.5))
        await pipe.execute()
    for group, member, also_app in promises:
        # The pledge path counts each member once per group: tally only what it took as new.
        if (await pledge(redis, day, group, member))[0]:
            tally.add(group, day, Measure.PLEDGES, 1)
            if day in NOVEMBER:
                tally.pledgers[TOWN if group.region.startswith(TOWN) else ""].add(member)
        if also_app and (await claim_app(redis, day, group, member))[0]:
            tally.add(group, day, Measure.APP_CLAIMS, 1)


async def _ask(service: ChatService, rng: random.Random, day: date, tally: Tally) -> None:
    """Ask a few questions on `day` through the real chat service (records queries)."""
    groups = _groups()
    for minute in range(rng.randint(0, 4)):
        group, text = rng.choice(groups[:6]), rng.choice(QUESTIONS)
        at = datetime(day.year, day.month, day.day, 2, minute, tzinfo=UTC)
        simulator = Simulator((group,), clock=lambda at=at: at)
        message = simulator.parse(
            {"group": group.id, "user": f"u{minute}", "text": f"@反诈助手 {text}"}
        )
        reply = await service.handle(message)
        assert reply is not None
        if day in NOVEMBER and reply.topic:
            tally.topics[reply.topic] += 1
        if day in NOVEMBER and reply.intent == "unmatched":
            tally.unmatched.append(text)


def _question(scam: str) -> Question:
    return Question(
        f"q-{scam or 'general'}", "truefalse", "题目", TRUE_FALSE, 0, "", scam, ("all",), "easy"
    )


async def _quiz(redis: Redis, rng: random.Random, day: date, tally: Tally) -> None:
    """Answer a few quiz questions through the quiz's own recording function."""
    for group in _groups()[:6]:
        for _ in range(rng.randint(0, 3)):
            scam = rng.choice(list(QUIZ_SKILL))
            correct = rng.random() < QUIZ_SKILL[scam]
            member = f"{group.id}-p{rng.randint(0, 30)}"
            await record_answer(redis, day, group, member, _question(scam), correct)
            tally.add(group, day, Measure.QUIZ_ANSWERS, 1)
            if correct:
                tally.add(group, day, Measure.QUIZ_CORRECT, 1)
            if day in NOVEMBER:
                tally.quiz[scam] = (tally.quiz[scam][0] + 1, tally.quiz[scam][1] + int(correct))


async def seed(redis: Redis, service: ChatService) -> Tally:
    """Record a deterministic month of activity (and two days either side) and tally it."""
    rng = random.Random(20261101)
    registry = GroupRegistry(redis)
    for group in _groups():
        await registry.put(group)
    tally = Tally()
    for day in [*OUTSIDE, *NOVEMBER]:
        await _record_day(redis, rng, day, tally)
        await _ask(service, rng, day, tally)
        await _quiz(redis, rng, day, tally)
    return tally


def _coverage(tally: Tally, region: str, members: int) -> float:
    return min(1.0, len(tally.readers[region]) / members) if members else -1.0


def _expected_ranking(tally: Tally) -> list[str]:
    members: Counter[str] = Counter()
    for _, _, region, count, _ in GROUPS:
        if region.startswith(f"{TOWN}/"):
            members["/".join(region.split("/")[:2])] += count
    paths = sorted(members)
    return sorted(paths, key=lambda p: (-_coverage(tally, p, members[p]), p))


async def test_month_snapshot_matches_the_tally(
    redis: Redis, service: ChatService, library: Library
) -> None:
    tally = await seed(redis, service)
    snap = await collect(redis, library.kb, month("2026-11"), TOWN, unmatched_limit=1000)

    assert dict(snap.reach.measures) == {m: tally.counts[TOWN][m] for m in Measure}
    assert snap.reach.measures[Measure.VIEWS] > 1000
    true_readers = len(tally.readers[TOWN])
    assert abs(snap.reach.readers - true_readers) <= 0.02 * true_readers
    assert snap.reach.pledgers == pytest.approx(len(tally.pledgers[TOWN]), rel=0.02)
    assert snap.reach.measures[Measure.APP_CLAIMS] > 0
    assert snap.reach.members == sum(g[3] for g in GROUPS if g[2].startswith(TOWN))
    for day_reach in snap.days:
        assert dict(day_reach.measures) == {
            m: tally.by_day[(TOWN, day_reach.day)][m] for m in Measure
        }
    scams = {entry.id for entry in library.kb.scams}
    assert {t.id: t.count for t in snap.asked} == {
        topic: count for topic, count in tally.topics.items() if topic in scams
    }
    assert sorted(q.text for q in snap.unmatched) == sorted(f"{t}" for t in tally.unmatched)
    assert all(q.where.startswith(TOWN) for q in snap.unmatched)
    assert {t.id: (t.answers, t.correct) for t in snap.quiz} == dict(tally.quiz)
    assert snap.quiz[0].id == "daikuan"
    sent = Measure.PUSHES_SENT
    assert sum(k[sent] for k in snap.kinds.values()) == tally.counts[TOWN][sent]
    everywhere = await collect(redis, library.kb, month("2026-11"), "")
    assert sum(k[sent] for k in everywhere.kinds.values()) == sum(
        tally.counts[town][sent] for town in (TOWN, "河西镇")
    )
    assert everywhere.kinds[GroupKind.PARENTS][sent] == sum(
        tally.counts[region][sent] for _, kind, region, *_ in GROUPS if kind is GroupKind.PARENTS
    )


async def test_ranking_and_bottom_three(
    redis: Redis, service: ChatService, library: Library
) -> None:
    tally = await seed(redis, service)
    snap = await collect(redis, library.kb, month("2026-11"), TOWN)

    assert [row.region for row in snap.ranking] == _expected_ranking(tally)
    assert [row.name for row in snap.bottom] == ["新河村", "实验小学", "石桥村"]
    empty = snap.ranking[-1]
    assert empty.name == "石桥村" and empty.reach.coverage is None
    assert empty.reach.receipts_per_member is None
    village = snap.ranking[0]
    assert village.name == "幸福村" and village.reach.groups == 2


async def test_xlsx_matches_the_tally(
    redis: Redis, service: ChatService, library: Library
) -> None:
    tally = await seed(redis, service)
    snap = await collect(redis, library.kb, month("2026-11"), TOWN)
    book = load_workbook(io.BytesIO(report_xlsx.to_bytes(await report_xlsx.build(redis, snap))))

    figures = {row[0]: row[1] for row in book["汇总"].iter_rows(values_only=True) if row[0]}
    for measure in Measure:
        assert figures[measure.label] == tally.counts[TOWN][measure]
    assert abs(figures[report_xlsx.READERS] - len(tally.readers[TOWN])) <= 0.02 * len(
        tally.readers[TOWN]
    )
    written = "".join(str(row[1]) for row in book["汇总"].iter_rows(values_only=True) if row[1])
    assert "新河村" in written and "实验小学" in written and "石桥村" in written
    assert snap.asked and snap.asked[0].name in written

    sent = list(book["按日-推送成功"].iter_rows(values_only=True))
    assert sent[0][:2] == ("日期", TOWN)
    subs = sent[0][2:]
    assert set(subs) == {"幸福村", "东街社区", "工业园区", "新河村", "实验小学", "石桥村"}
    for row, day in zip(sent[1:], NOVEMBER, strict=True):
        assert row[0].date() == day  # a real date cell, shown as 11月1日
        assert row[1] == tally.by_day[(TOWN, day)][Measure.PUSHES_SENT]
        for name, value in zip(subs, row[2:], strict=True):
            assert value == tally.by_day[(f"{TOWN}/{name}", day)][Measure.PUSHES_SENT]
    village = list(book["幸福村"].iter_rows(values_only=True))
    receipts = village[0].index(Measure.RECEIPTS.label)
    assert [row[receipts] for row in village[1:]] == [
        tally.by_day[(f"{TOWN}/幸福村", day)][Measure.RECEIPTS] for day in NOVEMBER
    ]
    ranking = list(book["排名"].iter_rows(values_only=True))
    assert [row[1] for row in ranking[1:]] == [p.split("/")[-1] for p in _expected_ranking(tally)]
    assert [row[8] for row in ranking[-3:]] == ["倒数三名"] * 3
    assert book["按日-推送成功"]._charts and book["排名"]._charts


async def test_empty_month(redis: Redis, service: ChatService, library: Library) -> None:
    await seed(redis, service)
    snap = await collect(redis, library.kb, month("2026-09"), TOWN)

    assert all(count == 0 for count in snap.reach.measures.values())
    assert snap.reach.readers == 0 and snap.asked == [] and snap.unmatched == []
    assert [row.reach.coverage for row in snap.ranking][:5] == [0.0] * 5
    book = load_workbook(io.BytesIO(report_xlsx.to_bytes(await report_xlsx.build(redis, snap))))
    written = "".join(str(row[1]) for row in book["汇总"].iter_rows(values_only=True) if row[1])
    assert "没有向机器人询问" in written and "没有群众参加防骗答题" in written


@pytest.mark.parametrize("text", ["2026-13", "2026/11", "November", "", "1999-01", "2026-11-01"])
def test_bad_month_is_refused(text: str) -> None:
    with pytest.raises(BadRequest, match="月份"):
        month(text)


def test_month_boundaries() -> None:
    assert month("2026-02").days[-1] == date(2026, 2, 28)
    assert len(month("2028-02").days) == 29
    assert month("2026-12").end == date(2026, 12, 31)


def _run_cli(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, url: str, *args: str) -> int:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("REDIS_URL", url)
    monkeypatch.setenv("FANZHA_DATA_DIR", str(tmp_path))
    return main(["report", *args])


def _register(url: str) -> None:
    async def run() -> None:
        redis = Redis.from_url(url, decode_responses=True)
        await redis.flushall()
        for group in _groups():
            await GroupRegistry(redis).put(group)
        async with redis.pipeline(transaction=False) as pipe:
            for dim, value in reach.group_dimensions(_groups()[0]):
                counter = keys.counts(date(2026, 11, 5), dim, value)
                pipe.hincrby(counter, reach.campaign_field(Measure.PUSHES_SENT, "village-peak"), 3)
            await pipe.execute()
        await redis.aclose()

    asyncio.run(run())


@pytest.mark.parametrize(
    ("args", "name", "message"),
    [
        (("--month", "2026-13", "--region", TOWN), "report.xlsx", "月份"),
        (("--month", "2026-11", "--region", "不存在镇"), "report.xlsx", "没有登记过"),
        (("--month", "2026-11"), "no/such/dir/r.xlsx", "不存在"),
        (("--month", "2026-11"), "r.csv", ".xlsx"),
    ],
)
def test_cli_bad_input_writes_nothing(
    args: tuple[str, ...],
    name: str,
    message: str,
    redis_server: EmbeddedRedis,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _register(redis_server.url)
    output = tmp_path / name
    assert _run_cli(monkeypatch, tmp_path, redis_server.url, *args, "-o", str(output)) == 2
    assert message in capsys.readouterr().err
    assert not output.exists()


def test_cli_writes_the_workbook(
    redis_server: EmbeddedRedis,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    _register(redis_server.url)
    output = tmp_path / "report.xlsx"
    status = _run_cli(
        monkeypatch, tmp_path, redis_server.url, "--month", "2026-11", "--region", TOWN,
        "-o", str(output),
    )  # fmt: skip
    assert status == 0, capsys.readouterr().err
    book = load_workbook(output)
    assert book.sheetnames[0] == "汇总"
    assert str(book["汇总"]["A1"].value).startswith(TOWN)
    assert "幸福村" in book.sheetnames
    pushes = [tuple(row) for row in book["推送计划"].iter_rows(min_row=2, values_only=True)]
    assert pushes == [("村民群高峰时段反诈提醒", 3, 0)]  # titled from schedules/


def _pdf_pages(xlsx: Path) -> tuple[Path, int]:
    """Convert `xlsx` with headless LibreOffice; return the PDF and its page count."""
    soffice = shutil.which("soffice")
    assert soffice, "LibreOffice is needed: apt-get install libreoffice-calc-nogui"
    profile = xlsx.parent / "lo-profile"
    subprocess.run(
        [soffice, f"-env:UserInstallation={profile.as_uri()}", "--headless",
         "--convert-to", "pdf", "--outdir", str(xlsx.parent), str(xlsx)],
        check=True, capture_output=True, timeout=180,
    )  # fmt: skip
    pdf = xlsx.with_suffix(".pdf")
    return pdf, len(re.findall(rb"/Type\s*/Page(?![a-z])", pdf.read_bytes()))


async def test_xlsx_prints_one_page_per_sheet(
    redis: Redis, service: ChatService, library: Library, tmp_path: Path
) -> None:
    await seed(redis, service)
    snap = await collect(redis, library.kb, month("2026-11"), TOWN)
    book = await report_xlsx.build(redis, snap, Issuer("城关派出所", "张警官", date(2026, 12, 3)))
    xlsx = tmp_path / "report.xlsx"
    xlsx.write_bytes(report_xlsx.to_bytes(book))
    pdf, pages = _pdf_pages(xlsx)
    if os.environ.get("FANZHA_KEEP_PDF"):
        shutil.copy(pdf, os.environ["FANZHA_KEEP_PDF"])

    # Every sheet fits one page wide and its chart sits whole beside its table: one page each.
    assert pages == len(book.sheetnames), pages
    for sheet in load_workbook(xlsx).worksheets:
        assert sheet.print_area, sheet.title
        assert sheet.page_setup.fitToWidth == 1 and sheet.page_setup.paperSize == 9
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        if sheet.title != "汇总":
            assert sheet.print_title_rows == "$1:$1", sheet.title  # the header row repeats
