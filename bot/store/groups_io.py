"""Import and export the group registry as CSV or YAML, all-or-nothing.

Columns / fields: id, name, kind, region, members, owner, target, robot_key. `kind` and `target`
take the code or the Chinese name ("家长群", "企业微信群机器人"). Robot keys are imported but
never exported. Every row is checked before anything is written; the write is one transaction.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import yaml
from redis.asyncio import Redis

from bot.bounded import whole_number
from bot.models import Group, PushTarget
from bot.store.groups import (
    MAX_ROBOT_KEY_LENGTH,
    GroupRegistry,
    InvalidGroup,
    parse_kind,
    validate,
)

COLUMNS = ("id", "name", "kind", "region", "members", "owner", "target", "robot_key")
EXPORTED = COLUMNS[:-1]
_ROBOT_KEY = re.compile(rf"[!-~]{{1,{MAX_ROBOT_KEY_LENGTH}}}")
_TARGETS = {
    **{t.value: t for t in PushTarget if t.value},
    **{t.label: t for t in PushTarget},
    "none": PushTarget.NONE,
    "机器人": PushTarget.ROBOT,
    "转发": PushTarget.FORWARD,
}
_RULES = {
    "id": "群编号只能用英文字母、数字和符号，不能有空格，最长 200 个字符",
    "name": "群名最长 100 个字，前后不要留空格",
    "region": "地区的每一级都要有名字，中间用斜杠隔开，总长不超过 200 个字",
    "members": "人数要写成不小于 0 的整数",
    "owner": "负责人最长 64 个字符",
    "robot_key": "机器人密钥应是 webhook 地址里 key= 后面的那一串",
}


@dataclass(frozen=True, slots=True)
class Rejected:
    """A row that cannot be imported: where (1-based row or line), which field, and why."""

    row: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"第 {self.row} 行 {self.field}：{self.reason}"


@dataclass
class ImportPlan:
    """What a file would import: the valid groups (with robot keys) and the rejected rows."""

    groups: list[Group] = field(default_factory=list)
    robot_keys: dict[str, str] = field(default_factory=dict)
    rejected: list[Rejected] = field(default_factory=list)


Progress = Callable[[int, int], None]


class _Duplicate(Exception):
    """A group id seen earlier in the same file."""


def read_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    """Return (row number, fields) for each row of a .csv or .yaml file; raise ValueError."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(io.StringIO(text))
        missing = {"id", "kind"} - set(reader.fieldnames or ())
        if missing:
            raise ValueError(f"表头缺少 {'、'.join(sorted(missing))} 列")
        return [(reader.line_num, dict(row)) for row in reader]
    if path.suffix.lower() in (".yaml", ".yml"):
        node = yaml.compose(text)
        data = yaml.safe_load(text)
        if not isinstance(data, list) or not isinstance(node, yaml.SequenceNode):
            raise ValueError("YAML 文件应是一个群的列表（每项有 id、kind、region 等）")
        return [
            (item.start_mark.line + 1, row if isinstance(row, dict) else {"id": row})
            for item, row in zip(node.value, data, strict=True)
        ]
    raise ValueError("只支持 .csv 或 .yaml 文件")


def plan_import(
    rows: Sequence[tuple[int, dict[str, Any]]], progress: Progress | None = None
) -> ImportPlan:
    """Check every row; collect valid groups and a reason for each rejected row."""
    plan = ImportPlan()
    seen: set[str] = set()
    for done, (row, fields) in enumerate(rows, 1):
        try:
            group, robot_key = _group(fields)
            if group.id in seen:
                raise _Duplicate
        except InvalidGroup as exc:
            plan.rejected.append(Rejected(row, exc.field, _RULES.get(exc.field, exc.reason)))
        except _Duplicate:
            plan.rejected.append(Rejected(row, "id", "这个群编号在文件里出现了两次"))
        else:
            seen.add(group.id)
            plan.groups.append(group)
            if robot_key:
                plan.robot_keys[group.id] = robot_key
        if progress:
            progress(done, len(rows))
    return plan


async def apply_import(redis: Redis, plan: ImportPlan) -> int:
    """Write every planned group and robot key in one transaction; return how many groups."""
    async with redis.pipeline(transaction=True) as pipe:
        # Commands queue on the pipeline; the registry's own validation and encoding apply.
        queued = GroupRegistry(cast(Redis, pipe))
        for group in plan.groups:
            await queued.put(group)
        for group_id, key in plan.robot_keys.items():
            await queued.set_robot_key(group_id, key)
        await pipe.execute()
    return len(plan.groups)


async def export_groups(redis: Redis, path: Path) -> int:
    """Write the registry to a .csv or .yaml file (never robot keys); return how many groups."""
    groups = await GroupRegistry(redis).all()
    rows = [
        {
            "id": g.id, "name": g.name, "kind": g.kind.value, "region": g.region,
            "members": g.members, "owner": g.owner, "target": g.target.value,
        }
        for g in groups
    ]  # fmt: skip
    if path.suffix.lower() == ".csv":
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, fieldnames=EXPORTED)
        writer.writeheader()
        writer.writerows(rows)
        text = buffer.getvalue()
    elif path.suffix.lower() in (".yaml", ".yml"):
        text = yaml.safe_dump(rows, allow_unicode=True, sort_keys=False)
    else:
        raise ValueError("只支持导出为 .csv 或 .yaml 文件")
    path.write_text(text, encoding="utf-8")
    return len(groups)


def _group(fields: dict[str, Any]) -> tuple[Group, str]:
    """Build and validate one group from a row; raise InvalidGroup naming the bad field."""
    unknown = [name for name in fields if name not in COLUMNS and name]
    if unknown:
        raise InvalidGroup(str(unknown[0]), f"不认识的列，可用的列：{', '.join(COLUMNS)}")
    text = {
        name: str(value if value is not None else "").strip() for name, value in fields.items()
    }
    kind = parse_kind(text.get("kind", ""))
    if kind is None:
        raise InvalidGroup("kind", f"不认识“{text.get('kind', '')}”这个群类型")
    target = _TARGETS.get(text.get("target", ""), None if text.get("target") else PushTarget.NONE)
    if target is None:
        raise InvalidGroup("target", f"不认识“{text['target']}”这个推送方式")
    members = whole_number(text.get("members") or "0", 9)
    if members is None:
        raise InvalidGroup("members", "must be a whole number")
    group = Group(
        id=text.get("id", ""),
        name=text.get("name", ""),
        kind=kind,
        region=text.get("region", "").strip("/"),
        members=members,
        owner=text.get("owner", ""),
        target=target,
    )
    validate(group)
    robot_key = text.get("robot_key", "")
    if robot_key and not _ROBOT_KEY.fullmatch(robot_key):
        raise InvalidGroup("robot_key", _RULES["robot_key"])
    return group, robot_key
