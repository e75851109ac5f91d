"""Campaign files: validation with file:line, fire times, targeting, and the dry run."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from redis.asyncio import Redis

from bot.answers.content import ContentError
from bot.cli.main import main
from bot.library import Library
from bot.models import Group, GroupKind, PushTarget
from bot.push.audience import Audience
from bot.push.campaigns import Campaign, load_campaigns, parse_campaign
from bot.push.catalog import Catalog
from bot.push.dry_run import plan_pushes
from bot.push.fire_times import fire_times, upcoming
from bot.settings import PROJECT_ROOT
from bot.store.embedded import EmbeddedRedis
from bot.store.groups import GroupRegistry

TZ = ZoneInfo("Asia/Shanghai")
GOOD = """\
id: {id}
title: 测试活动
what:
  items: [scams/laoshi]
to:
  kinds: [parents]
when:
  slots: ["17:00-18:00"]
  days: "1,15"
"""


@pytest.fixture(scope="module")
def catalog(library: Library) -> Catalog:
    return Catalog.from_library(library)


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def group(gid: str, kind: GroupKind, region: str = "城关镇/幸福村", **extra: object) -> Group:
    target = extra.pop("target", PushTarget.SIMULATOR)
    return Group(gid, gid, kind, region, 10, target=target)  # type: ignore[arg-type]


def at(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=TZ)  # type: ignore[misc]


def test_bundled_schedules_load(catalog: Catalog) -> None:
    campaigns = load_campaigns(PROJECT_ROOT / "schedules", catalog)
    assert {c.id for c in campaigns} >= {"parents-monthly", "village-peak", "enterprise-weekly"}
    parents = next(c for c in campaigns if c.id == "parents-monthly")
    # Every item in the parents' rotation is written for parents.
    assert all(catalog.problem(item, [GroupKind.PARENTS]) is None for item in parents.items)


def test_problems_name_file_line_and_field(tmp_path: Path, catalog: Catalog) -> None:
    bad = GOOD.format(id="bad").replace("[scams/laoshi]", "[alerts/no-such-alert]")
    bad = bad.replace('"17:00-18:00"', '"17:00-16:00"').replace("kinds: [parents]", "kinds: [猫]")
    write(tmp_path, "bad", bad + "how:\n  style: video\n")
    with pytest.raises(ContentError) as caught:
        load_campaigns(tmp_path, catalog)
    found = {(p.line, p.field) for p in caught.value.problems}
    assert (4, "what.items") in found  # missing item id
    assert (6, "to.kinds") in found
    assert (8, "when.slots") in found
    assert (11, "how.style") in found
    assert all(str(p).startswith(f"{tmp_path / 'bad.yaml'}:") for p in caught.value.problems)


def test_refuses_ambiguous_or_empty_campaigns(tmp_path: Path, catalog: Catalog) -> None:
    text = GOOD.format(id="other-name").replace("  kinds: [parents]\n", "  regions: []\n")
    text = text.replace('  days: "1,15"\n', '  cron: "0 9 * * 1"\n')
    _, problems = parse_campaign(write(tmp_path, "x", text), catalog)
    reasons = {p.field: p.reason for p in problems}
    assert "和文件名相同" in reasons["id"]
    assert "发给谁" in reasons["to"]
    assert "cron 和 slots 只能写一个" in reasons["when"]
    assert "英文缩写" in reasons["when.cron"]  # numbered weekdays mean different days in cron


def test_item_written_for_other_audiences_is_refused(tmp_path: Path, catalog: Catalog) -> None:
    text = GOOD.format(id="wrong").replace("kinds: [parents]", "kinds: [parents, village]")
    _, problems = parse_campaign(write(tmp_path, "wrong", text), catalog)
    assert [p.field for p in problems] == ["what.items"]
    assert "village" in problems[0].reason


def test_rotation_pool_holds_only_items_for_every_kind(tmp_path: Path, catalog: Catalog) -> None:
    text = GOOD.format(id="rot").replace(
        "  items: [scams/laoshi]\n", "  rotate:\n    tags: [冒充]\n"
    )
    campaign, problems = parse_campaign(write(tmp_path, "rot", text), catalog)
    assert not problems and campaign
    assert campaign.items == ("scams/laoshi", "scams/shuren")


def test_slot_fires_are_jittered_inside_the_window_and_repeatable(
    tmp_path: Path, catalog: Catalog
) -> None:
    campaign, _ = parse_campaign(write(tmp_path, "slots", GOOD.format(id="slots")), catalog)
    assert campaign
    fires = fire_times(campaign, at(2026, 12, 1), at(2026, 12, 31, 23, 59))
    assert [f.day for f in fires] == [1, 15]
    assert all(17 <= f.hour < 18 for f in fires)
    assert fires == fire_times(campaign, at(2026, 12, 1), at(2026, 12, 31, 23, 59))


def test_quiet_hours_and_date_range_drop_fires(tmp_path: Path, catalog: Catalog) -> None:
    text = GOOD.format(id="quiet").replace('  slots: ["17:00-18:00"]\n  days: "1,15"\n', "")
    text += (
        '  cron: "0 * * * *"\n  quiet: "21:00-08:00"\n  from: 2026-12-02\n  until: 2026-12-02\n'
    )
    campaign, problems = parse_campaign(write(tmp_path, "quiet", text), catalog)
    assert not problems and campaign
    hours = [f.hour for f in fire_times(campaign, at(2026, 12, 1), at(2026, 12, 4))]
    assert hours == list(range(8, 21))


def test_audience_targets_only_matching_bound_groups() -> None:
    audience = Audience(
        kinds=frozenset({GroupKind.PARENTS}),
        regions=("城关镇",),
        groups=frozenset({"extra-school"}),
        exclude_groups=frozenset({"parents-excluded"}),
        exclude_regions=("城关镇/东村",),
    )
    groups = [
        group("parents-a", GroupKind.PARENTS),
        group("parents-excluded", GroupKind.PARENTS),
        group("parents-east", GroupKind.PARENTS, "城关镇/东村"),
        group("parents-far", GroupKind.PARENTS, "城关镇外"),  # a prefix by characters only
        group("parents-silent", GroupKind.PARENTS, target=PushTarget.NONE),
        group("village", GroupKind.VILLAGE),
        group("enterprise", GroupKind.ENTERPRISE),
        group("unbound", GroupKind.UNBOUND),
        group("extra-school", GroupKind.SCHOOL, "其他镇"),
    ]
    assert [g.id for g in groups if audience.matches(g)] == ["parents-a", "extra-school"]


def test_dry_run_plan_targets_rotates_and_caps(tmp_path: Path, catalog: Catalog) -> None:
    text = GOOD.format(id="plan").replace(
        "  items: [scams/laoshi]\n", "  rotate:\n    tags: [冒充]\n"
    )
    campaign, _ = parse_campaign(write(tmp_path, "plan", text), catalog)
    assert campaign
    groups = [group("p1", GroupKind.PARENTS), group("v1", GroupKind.VILLAGE)]
    pushes = plan_pushes([campaign], groups, catalog, at(2026, 12, 1), at(2027, 1, 31))
    assert {p.group.id for p in pushes} == {"p1"}
    assert [p.item for p in pushes] == ["scams/laoshi", "scams/shuren"] * 2


def test_upcoming_orders_fires_across_campaigns(catalog: Catalog) -> None:
    campaigns = load_campaigns(PROJECT_ROOT / "schedules", catalog)
    fires = upcoming(campaigns, at(2026, 12, 1), at(2026, 12, 31))
    assert [f.at for f in fires] == sorted(f.at for f in fires)
    assert sum(f.campaign.id == "parents-monthly" for f in fires) == 1
    assert all(isinstance(f.campaign, Campaign) for f in fires)


def run_cli(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    import os

    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT, env={**os.environ, **env},
    )  # fmt: skip


def test_lint_command_reports_file_and_line(tmp_path: Path) -> None:
    write(tmp_path, "broken", GOOD.format(id="broken").replace("[scams/laoshi]", "[letters/nope]"))
    env = {"FANZHA_SCHEDULES_DIR": str(tmp_path), "FANZHA_DATA_DIR": str(tmp_path / "data")}
    done = run_cli("schedules", "lint", env=env)
    assert done.returncode == 1
    assert f"{tmp_path / 'broken.yaml'}:4: what.items" in done.stderr
    assert "排期文件有 1 处问题" in done.stderr


def test_dry_run_command_prints_every_push(
    redis_server: EmbeddedRedis,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async def register() -> None:
        client = Redis.from_url(redis_server.url, decode_responses=True)
        await client.flushall()
        registry = GroupRegistry(client)
        await registry.put(group("p1", GroupKind.PARENTS, "城关镇/一小"))
        await registry.put(group("v1", GroupKind.VILLAGE))
        await client.aclose()

    asyncio.run(register())
    monkeypatch.setenv("REDIS_URL", redis_server.url)
    monkeypatch.setenv("FANZHA_DATA_DIR", str(tmp_path))
    assert main(["schedules", "dry-run", "--from", "2026-12-01", "--to", "2026-12-07"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[-1] == "共 3 条推送，2 个群。"
    village = [line for line in lines if " v1（" in line]
    assert len(village) == 2 and all("village-peak" in line for line in village)
    assert village[0].startswith("2026-12-01 10:") and village[1].startswith("2026-12-01 17:")
    assert "letters/residents" in village[0] and "alerts/shuadan-dianzan" in village[1]
    (parents,) = [line for line in lines if " p1（" in line]
    assert parents.startswith("2026-12-03 17:") and "家长群 城关镇/一小" in parents
    assert "letters/parents" in parents and "文章卡片" in parents
    assert main(["schedules", "dry-run", "--from", "2026-12-01", "--to", "2026-12-07",
                 "--group", "p1"]) == 0  # fmt: skip
    assert capsys.readouterr().out.splitlines()[-1] == "共 1 条推送，1 个群。"
