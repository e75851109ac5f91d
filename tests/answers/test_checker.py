"""The suspicious-message checker: its accuracy on real-looking messages, and its rules file."""

from __future__ import annotations

import csv
from collections import Counter
from collections.abc import Mapping
from pathlib import Path

import pytest

from bot.answers.checker import Assessment, RiskLevel, RiskRules, RiskRulesError, fold

ROOT = Path(__file__).resolve().parents[2]
RULES_FILE = ROOT / "content" / "checker" / "rules.yaml"
CHECKER_TSV = Path(__file__).resolve().parents[1] / "data" / "checker.tsv"
MIN_PRECISION = 0.90
MIN_RECALL = 0.90

# One unmistakable message per scam type, for the scam hint.
CLEAR_CASES = {
    "gongjianfa": "我是市公安局的，你涉嫌洗钱，马上把钱转到安全账户配合调查。",
    "shuadan": "点赞关注一单3元，做完任务返佣金，垫付本金后连本带佣金一起返还。",
    "zhengxin": "您大学时开过校园贷账户，现在要注销，不然会影响您的征信。",
    "pingmu": "请打开屏幕共享，我一步步教您操作退款。",
    "bangxin": "出租银行卡和电话卡，一天200元，有意私聊。",
    "daikuan": "您的贷款已审批，银行卡号填写错误资金被冻结，请交解冻费后放款。",
}


@pytest.fixture(scope="module")
def rules() -> RiskRules:
    """Load the real rules file once."""
    return RiskRules.load(RULES_FILE)


def read_rows() -> list[tuple[str, str]]:
    """Return (label, text) for the rows of checker.tsv the rules were tuned on (origin v1)."""
    with CHECKER_TSV.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle, delimiter="\t", quoting=csv.QUOTE_NONE))
    return [(row["label"], row["text"]) for row in rows if row["origin"] == "v1"]


def minimal(**rule: object) -> dict[str, object]:
    """Return a one-rule mapping, with `rule` overriding the defaults."""
    base: dict[str, object] = {
        "id": "safe_account",
        "label": "要把钱转到安全账户",
        "advice": "公安没有安全账户。",
        "weight": 5,
        "patterns": ["安全账户"],
        "scam": "gongjianfa",
    }
    base.update(rule)
    return {"levels": {"high": 5, "suspicious": 3}, "rules": [base]}


def describe(text: str, assessment: Assessment) -> str:
    """Return one line explaining how `text` was judged."""
    fired = ",".join(r.id for r in assessment.fired) or "-"
    return f"  {assessment.level.value} score={assessment.score} [{fired}] {text[:50]}"


def test_dataset_is_well_formed() -> None:
    rows = read_rows()
    counts = Counter(label for label, _ in rows)
    assert set(counts) == {"high", "suspicious", "none"}
    assert len(rows) >= 90
    assert counts["high"] >= 40 and counts["suspicious"] >= 10 and counts["none"] >= 30
    texts = [text for _, text in rows]
    assert len(set(texts)) == len(texts), "duplicate rows"
    assert all(text.strip() == text and text for text in texts)


def test_high_risk_precision_and_recall(rules: RiskRules) -> None:
    rows = read_rows()
    judged = [(label, text, rules.assess(text)) for label, text in rows]
    predicted_high = [(label, a) for label, _, a in judged if a.level is RiskLevel.HIGH]
    true_positives = sum(label == "high" for label, _ in predicted_high)
    precision = true_positives / len(predicted_high)
    recall = true_positives / sum(label == "high" for label, _ in rows)
    wrong = [
        f"{label} ->{describe(text, a)}" for label, text, a in judged if a.level.value != label
    ]
    report = f"precision={precision:.3f} recall={recall:.3f}\n" + "\n".join(wrong)
    print(report)
    assert precision >= MIN_PRECISION and recall >= MIN_RECALL, report


def test_ordinary_messages_are_never_high(rules: RiskRules) -> None:
    flagged = [
        describe(text, a)
        for label, text in read_rows()
        if label == "none" and (a := rules.assess(text)).level is RiskLevel.HIGH
    ]
    assert not flagged, "\n".join(flagged)


def test_every_rule_points_to_a_knowledge_base_scam(rules: RiskRules) -> None:
    scam_ids = {path.stem for path in (ROOT / "content" / "scams").glob("*.yaml")}
    assert {r.scam for r in rules.rules if r.scam} <= scam_ids


@pytest.mark.parametrize(("scam", "text"), CLEAR_CASES.items(), ids=CLEAR_CASES.keys())
def test_scam_hint_names_the_likely_scam(rules: RiskRules, scam: str, text: str) -> None:
    assessment = rules.assess(text)
    assert assessment.level is RiskLevel.HIGH
    assert assessment.scam_hint == scam


def test_scam_hint_sums_the_weights_of_each_scam() -> None:
    data = {
        "levels": {"high": 5, "suspicious": 3},
        "rules": [
            {"id": i, "label": t, "advice": t, "weight": w, "patterns": [t], "scam": s}
            for i, t, w, s in [("a", "甲", 4, "y"), ("b", "乙", 3, "x"), ("c", "丙", 2, "x")]
        ],
    }
    assessment = RiskRules.from_mapping(data, "inline").assess("甲乙丙")
    assert [r.id for r in assessment.fired] == ["a", "b", "c"]
    assert assessment.score == 9
    assert assessment.scam_hint == "x"


@pytest.mark.parametrize(
    "text",
    [
        "把钱转到安全账户",
        "把钱转到安 全 账 户",
        "把钱转到安\u3000全\u200b账户",
        "把钱转到安🔒全💰账户",
        "把钱转到安·全*账户",
    ],
)
def test_spacing_emoji_and_decoys_do_not_hide_a_flag(text: str) -> None:
    rules = RiskRules.from_mapping(minimal(), "inline")
    assert [r.id for r in rules.assess(text).fired] == ["safe_account"]


def test_full_width_and_capitals_are_folded(rules: RiskRules) -> None:
    assert fold("ＵＳＤＴ　搬砖，稳赚！") == "usdt搬砖,稳赚!"
    assessment = rules.assess(
        "您的ＥＴＣ卡已失效，请立即点击链接重新认证：ｈｔｔｐ://ｔ.ｃｎ/ｘｘ"
    )
    assert {"etc_expired", "unknown_link"} <= {r.id for r in assessment.fired}
    assert assessment.level is RiskLevel.HIGH


def test_a_banks_own_code_message_is_not_a_request_for_the_code(rules: RiskRules) -> None:
    otp = rules.assess("【某银行】验证码 301945，5分钟内有效，请勿泄露给他人。")
    asked = rules.assess("我是客服，您收到的验证码是多少？念给我一下才能给您退款。")
    assert otp.level is RiskLevel.NONE
    assert asked.level is RiskLevel.HIGH and "ask_code" in {r.id for r in asked.fired}


@pytest.mark.parametrize("text", ["", "   ", "\n\t"])
def test_empty_text_shows_no_risk(rules: RiskRules, text: str) -> None:
    assert rules.assess(text) == Assessment(RiskLevel.NONE, 0, (), None)


def test_no_scam_hint_without_risk(rules: RiskRules) -> None:
    assessment = rules.assess("明天早上扫码进小区，记得带好出入证。")
    assert assessment.level is RiskLevel.NONE
    assert assessment.scam_hint is None


def test_levels_read_in_chinese() -> None:
    assert [level.label for level in RiskLevel] == ["高风险", "可疑", "未发现明显风险"]


def test_a_rule_counts_once_however_many_patterns_match() -> None:
    rules = RiskRules.from_mapping(minimal(patterns=["安全", "账户", "安全账户"]), "inline")
    assert rules.assess("安全账户安全账户").score == 5


@pytest.mark.parametrize(
    ("rule", "field", "reason"),
    [
        ({"patterns": ["安全(账户"]}, "rules.safe_account.patterns[0]", "正则表达式有误"),
        ({"patterns": ["ETC"]}, "rules.safe_account.patterns[0]", "永远匹配不上"),
        ({"patterns": []}, "rules.safe_account.patterns", "不为空的列表"),
        ({"label": None}, "rules.safe_account.label", "缺少这一项"),
        ({"label": "这个标签写得太长了居民一眼根本看不完"}, "rules.safe_account.label", "超过"),
        ({"weight": 0}, "rules.safe_account.weight", "1 到 5 之间的整数"),
        ({"weight": 6}, "rules.safe_account.weight", "1 到 5 之间的整数"),
        ({"weight": "5"}, "rules.safe_account.weight", "1 到 5 之间的整数"),
        ({"weight": True}, "rules.safe_account.weight", "1 到 5 之间的整数"),
        ({"id": "安全账户"}, "rules[0].id", "英文编号"),
        ({"scam": "GongJianFa"}, "rules.safe_account.scam", "英文编号"),
        ({"pattern": ["x"]}, "rules[0]", "unknown fields ['pattern']"),
    ],
)
def test_bad_rule_names_its_field(rule: dict[str, object], field: str, reason: str) -> None:
    with pytest.raises(RiskRulesError) as caught:
        RiskRules.from_mapping(minimal(**rule), "content/checker/rules.yaml")
    assert caught.value.field == field
    assert reason in caught.value.reason
    assert str(caught.value).startswith(f"content/checker/rules.yaml: {field}: ")


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"levels": {"high": 3, "suspicious": 3}}, "levels.suspicious"),
        ({"levels": {"high": 5}}, "levels.suspicious"),
        ({"levels": None}, "levels"),
        ({"rules": []}, "rules"),
        (
            {"safe_patterns": [{"id": "otp", "weight": 2, "patterns": ["x"]}]},
            "safe_patterns.otp.weight",
        ),
        ({"extra": 1}, "-"),
    ],
)
def test_bad_file_layout_names_its_field(change: Mapping[str, object], field: str) -> None:
    data = {**minimal(), **change}
    with pytest.raises(RiskRulesError) as caught:
        RiskRules.from_mapping(data, "rules.yaml")
    assert caught.value.field == field


def test_duplicate_ids_are_refused() -> None:
    base = minimal()
    one = base["rules"]
    assert isinstance(one, list)
    data = {**base, "rules": one * 2}
    with pytest.raises(RiskRulesError, match="编号重复：\\['safe_account'\\]"):
        RiskRules.from_mapping(data, "rules.yaml")


def test_unreadable_yaml_names_the_file(tmp_path: Path) -> None:
    path = tmp_path / "rules.yaml"
    path.write_text("levels: [high: 5\n", encoding="utf-8")
    with pytest.raises(RiskRulesError, match="not valid YAML") as caught:
        RiskRules.load(path)
    assert caught.value.source == str(path)


def test_safe_signals_offset_red_flags(rules: RiskRules) -> None:
    notice = "派出所提醒：凡是让您把钱转到安全账户的都是诈骗，公安机关不会让您转账。"
    assert rules.assess(notice).level is RiskLevel.NONE
