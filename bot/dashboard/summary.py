"""The written Chinese summary of a period: what was done, what it reached, where to do better."""

from __future__ import annotations

from bot.dashboard.data import QUIZ_PUSHES, Reach
from bot.dashboard.snapshot import Snapshot
from bot.store.reach import Measure

TOP_SCAMS = 3
WEAK_TOPICS = 3


def percent(share: float | None) -> str:
    """Return a share as "12.3%", or "—" when it cannot be computed."""
    return "—" if share is None else f"{share * 100:.1f}%"


def paragraphs(snap: Snapshot) -> list[str]:
    """Return the summary as paragraphs, in the order a 综治办 report reads."""
    return [
        _done(snap),
        _reached(snap),
        _asked(snap),
        _quiz(snap),
        _ranking(snap),
    ]


def _done(snap: Snapshot) -> str:
    m = snap.reach.measures
    sent, quiz = m[Measure.PUSHES_SENT], snap.quiz_pushes
    parts = f"，其中防骗内容 {sent - quiz} 次、答题定时消息 {quiz} 次" if quiz else ""
    kinds = "、".join(
        f"{kind.label} {counts[Measure.PUSHES_SENT]} 次"
        for kind, counts in sorted(snap.kinds.items(), key=lambda item: item[0].value)
        if counts[Measure.PUSHES_SENT]
    )
    by_kind = f"按群类型分：{kinds}；" if kinds else ""
    plans = "、".join(
        f"“{row.title}” {row.sent} 次"
        for row in snap.campaigns[:3]
        if row.sent and row.id != QUIZ_PUSHES
    )
    by_plan = f"推送最多的是{plans}；" if plans else ""
    return (
        f"{snap.period.label}，{snap.region_label}在已登记的 {snap.reach.groups} 个群中"
        f"共推送 {sent} 次{parts}；{by_kind}{by_plan}"
        f"推送失败 {m[Measure.PUSHES_FAILED]} 次，"
        f"为个人微信群生成转发包 {m[Measure.FORWARD_PACKS]} 份。"
    )


def _reached(snap: Snapshot) -> str:
    r = snap.reach
    m = r.measures
    coverage = (
        f"按登记群成员 {r.members} 人计，覆盖率约 {percent(r.coverage)}"
        "（估算值：阅读人数按人去重计，同一人在几个群里都读过只算一次，实际覆盖可能略高）"
        if r.members
        else "登记的群都没有填写人数，暂时算不出覆盖率"
    )
    return (
        f"内容被阅读 {m[Measure.VIEWS]} 次，约 {r.readers} 人读过，"
        f"收到回执 {m[Measure.RECEIPTS]} 条；"
        f"{coverage}。群众签署防骗承诺 {m[Measure.PLEDGES]} 次（约 {r.pledgers} 人），"
        f"自愿报告已安装国家反诈中心APP {m[Measure.APP_CLAIMS]} 次。"
    )


def _asked(snap: Snapshot) -> str:
    if not snap.asked:
        return "本期群众没有向机器人询问具体的骗局类型。"
    total = sum(topic.count for topic in snap.asked)
    top = "、".join(f"{t.name}（{t.count} 次）" for t in snap.asked[:TOP_SCAMS])
    return f"群众向机器人询问具体骗局 {total} 次，问得最多的是：{top}。"


def _quiz(snap: Snapshot) -> str:
    r = snap.reach
    answers = r.measures[Measure.QUIZ_ANSWERS]
    if not answers:
        return "本期没有群众参加防骗答题。"
    weak = "、".join(
        f"{t.name}（答对 {percent(t.accuracy)}）" for t in snap.weak_quiz[:WEAK_TOPICS]
    )
    weakest = f"低于总正确率、掌握最弱的是：{weak}，下期宣传宜重点讲解。" if weak else ""
    return (
        f"约 {r.quiz_players} 人参加防骗答题，共答题 {answers} 次，"
        f"总正确率 {percent(r.quiz_accuracy)}。{weakest}"
    )


def _coverage(reached: Reach) -> str:
    if reached.coverage is None:
        return "群人数未填写，算不出覆盖率"
    return f"覆盖率 {percent(reached.coverage)}"


def _ranking(snap: Snapshot) -> str:
    if not snap.ranking:
        return "下级地区没有登记的群，本期不做排名。"
    first = snap.ranking[0]
    if len(snap.ranking) == 1:
        return f"下级只有{first.name}一个地区登记了群（{_coverage(first.reach)}），本期不做排名。"
    sentences = [
        f"按覆盖率、再按人均回执数排名，下级 {len(snap.ranking)} 个地区中"
        f"第一名是{first.name}（{_coverage(first.reach)}）"
    ]
    if snap.bottom:
        bottom = "、".join(f"{row.name}（{_coverage(row.reach)}）" for row in snap.bottom)
        sentences.append(f"排名靠后的是：{bottom}，请督促加强推送和转发")
    return "；".join(sentences) + "。"
