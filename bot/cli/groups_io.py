"""`fanzha groups import|export`: the registry from and to CSV or YAML files."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from redis.asyncio import Redis
from tqdm import tqdm

from bot.cli.common import Commands, with_redis
from bot.settings import Settings
from bot.store.groups_io import ImportPlan, apply_import, export_groups, plan_import, read_rows


def add_actions(actions: Commands) -> None:
    """Register `groups import` and `groups export` under `fanzha groups`."""
    importing = actions.add_parser("import", help="从 .csv 或 .yaml 文件批量登记群")
    importing.add_argument("file", type=Path, help="要导入的 .csv 或 .yaml 文件")
    importing.add_argument(
        "--skip-bad", action="store_true", help="有不合格的行时，仍导入其余合格的行"
    )
    importing.set_defaults(run=_import)
    exporting = actions.add_parser(
        "export", help="把群登记导出为 .csv 或 .yaml 文件（不含机器人地址）"
    )
    exporting.add_argument(
        "-o", "--output", type=Path, required=True, help="导出到哪个 .csv 或 .yaml 文件"
    )
    exporting.set_defaults(run=_export)


def _check(rows: list[tuple[int, dict[str, Any]]]) -> ImportPlan:
    """Check the rows with a progress bar (tqdm: redrawn at most 10 times a second, with rate
    and time left, also written when stderr is a log file so it shows the final count)."""
    with tqdm(total=len(rows), desc="检查", unit="行", file=sys.stderr) as bar:

        def advance(done: int, _total: int) -> None:
            bar.update(done - bar.n)

        return plan_import(rows, advance)


def _import(args: argparse.Namespace, settings: Settings) -> int:

    try:
        rows = read_rows(args.file)
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else exc
        print(f"读不了 {args.file}：{reason}", file=sys.stderr)
        return 1
    plan = _check(rows)
    for rejected in plan.rejected:
        print(f"{args.file} {rejected}", file=sys.stderr)
    if plan.rejected and not args.skip_bad:
        print(
            f"有 {len(plan.rejected)} 行不合格，一个群也没有导入。改好后重新导入，"
            "或加 --skip-bad 只导入合格的行。",
            file=sys.stderr,
        )
        return 1

    async def write(redis: Redis) -> int:
        return await apply_import(redis, plan)

    count = with_redis(settings, write)
    print(f"已导入 {count} 个群，跳过 {len(plan.rejected)} 行。")
    return 0


def _export(args: argparse.Namespace, settings: Settings) -> int:

    if args.output.suffix.lower() not in (".csv", ".yaml", ".yml"):
        print("只支持导出为 .csv 或 .yaml 文件。", file=sys.stderr)
        return 1

    async def export(redis: Redis) -> int:
        return await export_groups(redis, args.output)

    count = with_redis(settings, export)
    print(f"已导出 {count} 个群到 {args.output}（不含机器人密钥）。")
    return 0
