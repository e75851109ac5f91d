"""Group import and export: every bad row reported, nothing half-written."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from redis.asyncio import Redis

from bot.models import GroupKind, PushTarget
from bot.settings import PROJECT_ROOT
from bot.store.groups import GroupRegistry
from bot.store.groups_io import apply_import, export_groups, plan_import, read_rows

HEADER = "id,name,kind,region,members,owner,target,robot_key\n"
GOOD_ROWS = (
    "sim-a,幸福村村民群,村民群,城关镇/幸福村,120,wang,sim,\n"
    "robot-b,实验小学三年级2班家长群,parents,城关镇/实验小学/三年级2班,45,li,机器人,KEY-123\n"
)
BAD_ROWS = (
    "bad id,某群,village,城关镇,3,,,\n"
    "bad-members,某群,village,城关镇,很多,,,\n"
    "bad-region,某群,village,城关镇//幸福村,3,,,\n"
    "robot-badkey,某群,village,城关镇,3,,robot,有 空格\n"
    "sim-a,重复的群,village,城关镇,3,,,\n"
)


async def test_csv_import_writes_groups_and_robot_keys(redis: Redis, tmp_path: Path) -> None:
    path = tmp_path / "groups.csv"
    path.write_text(HEADER + GOOD_ROWS, encoding="utf-8")
    plan = plan_import(read_rows(path))
    assert not plan.rejected
    assert await apply_import(redis, plan) == 2
    registry = GroupRegistry(redis)
    robot = await registry.get("robot-b")
    assert robot and robot.kind is GroupKind.PARENTS and robot.target is PushTarget.ROBOT
    assert robot.region == "城关镇/实验小学/三年级2班" and robot.members == 45
    assert await registry.robot_key("robot-b") == "KEY-123"


def test_bad_rows_are_reported_with_row_field_and_reason(tmp_path: Path) -> None:
    path = tmp_path / "groups.csv"
    path.write_text(HEADER + GOOD_ROWS + BAD_ROWS, encoding="utf-8")
    seen: list[tuple[int, int]] = []
    plan = plan_import(read_rows(path), lambda done, total: seen.append((done, total)))
    assert [(r.row, r.field) for r in plan.rejected] == [
        (4, "id"), (5, "members"), (6, "region"), (7, "robot_key"), (8, "id"),
    ]  # fmt: skip
    assert "两次" in plan.rejected[-1].reason and "key=" in plan.rejected[3].reason
    assert seen[-1] == (7, 7)


def test_yaml_rows_are_numbered_by_line(tmp_path: Path) -> None:
    path = tmp_path / "groups.yaml"
    path.write_text(
        "- id: ok-1\n  kind: elderly\n  region: 城关镇\n  target: sim\n"
        "- id: no-kind\n  kind: 外星人\n",
        encoding="utf-8",
    )
    plan = plan_import(read_rows(path))
    assert [g.id for g in plan.groups] == ["ok-1"]
    assert [(r.row, r.field) for r in plan.rejected] == [(5, "kind")]


async def test_export_round_trips_without_robot_keys(redis: Redis, tmp_path: Path) -> None:
    source = tmp_path / "groups.csv"
    source.write_text(HEADER + GOOD_ROWS, encoding="utf-8")
    await apply_import(redis, plan_import(read_rows(source)))
    for suffix in ("csv", "yaml"):
        out = tmp_path / f"out.{suffix}"
        assert await export_groups(redis, out) == 2
        assert "KEY-123" not in out.read_text(encoding="utf-8")
        again = plan_import(read_rows(out))
        assert not again.rejected
        assert sorted(again.groups, key=lambda g: g.id) == await GroupRegistry(redis).all()


def test_cli_import_refuses_a_file_with_bad_rows_and_writes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "groups.csv"
    path.write_text(HEADER + GOOD_ROWS + BAD_ROWS, encoding="utf-8")
    env = {**os.environ, "FANZHA_DATA_DIR": str(tmp_path / "data")}
    env.pop("REDIS_URL", None)

    def fanzha(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "bot", *args],
            capture_output=True, text=True, timeout=120, cwd=PROJECT_ROOT, env=env,
        )  # fmt: skip

    refused = fanzha("groups", "import", str(path))
    assert refused.returncode == 1
    assert f"{path} 第 5 行 members：人数要写成不小于 0 的整数" in refused.stderr
    assert "一个群也没有导入" in refused.stderr and "7/7" in refused.stderr
    assert "还没有符合条件的群" in fanzha("groups", "list").stdout
    partial = fanzha("groups", "import", str(path), "--skip-bad")
    assert partial.returncode == 0 and "已导入 2 个群，跳过 5 行" in partial.stdout
    assert "robot-b" in fanzha("groups", "list").stdout


def test_members_in_other_scripts_digits_are_a_reported_row(tmp_path: Path) -> None:
    path = tmp_path / "groups.csv"
    rows = "".join(f"g{n},某群,village,城关镇,{members},,,\n" for n, members in enumerate("²١３"))
    path.write_text(HEADER + rows, encoding="utf-8")
    plan = plan_import(read_rows(path))
    assert [(r.row, r.field) for r in plan.rejected] == [
        (2, "members"),
        (3, "members"),
        (4, "members"),
    ]
