"""Content validation: the bundled content is complete; bad files are named precisely."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bot.answers.content import ContentError, load_entries
from bot.cli.main import main
from bot.library import Library, load_library
from bot.settings import PROJECT_ROOT

CONTENT = PROJECT_ROOT / "content"
REQUIRED_SCAMS = {
    "shuadan", "touzi", "daikuan", "kefu", "gongjianfa", "lingdao", "zhengxin", "youxi",
    "shazhupan", "wanggou", "zhongjiang", "baojianpin", "yifang", "yanglao_yufu", "jianzhi",
    "laoshi", "bangxin", "yibao", "jipiao", "daohao", "pingmu", "saoma", "xinyongka", "zhibo",
    "jizi", "chuanxiao", "jiabi", "erci", "junren", "zhengbing", "yunyingshang", "piaowu",
    "cishan", "daikao", "zufang", "qiaozha", "tuibao", "weizhang", "shuidian", "pianhun",
    "yuehui", "shoucang",
}  # fmt: skip
REQUIRED_TOPICS = {"beipian", "jubao", "koujue", "app", "dongjie"}

GOOD = """\
id: sample
kind: scam
name: 示例诈骗
short: 示例
aliases: [示例骗局]
triggers: [示例触发一, 示例触发二, 示例触发三]
summary: 一句话说明。
how: 骗子这样做。
example: 张阿姨遇到了这样的事。
red_flags: [信号一, 信号二]
prevention: [防范一, 防范二]
if_scammed: [立即拨打110报警, 联系银行止付冻结]
audiences: [village]
"""


@pytest.fixture
def content_copy(tmp_path: Path) -> Path:
    """A copy of the bundled content to break on purpose."""
    target = tmp_path / "content"
    shutil.copytree(CONTENT, target)
    return target


def test_bundled_content_is_complete(library: Library) -> None:
    ids = set(library.kb.by_id)
    assert len(library.kb.scams) >= 45
    assert ids >= REQUIRED_SCAMS
    assert {t.id for t in library.kb.topics} >= REQUIRED_TOPICS
    for scam in library.kb.scams:
        steps = "".join(scam.if_scammed)
        assert "110" in steps, scam.id
        assert scam.red_flags and scam.prevention and scam.example, scam.id


def test_frozen_card_topic_sends_residents_to_the_bank_and_police(library: Library) -> None:
    points = "".join(library.kb.by_id["dongjie"].points)
    assert "开户" in points and "公安" in points and "96110" in points
    assert "骗子" in points or "诈骗" in points, "paid 'unfreezing' offers must be called scams"


def test_every_scam_type_has_quiz_questions(library: Library) -> None:
    missing = {s.id for s in library.kb.scams} - set(library.quiz.by_scam())
    assert missing == set()


def test_app_topic_never_says_installing_is_compulsory(library: Library) -> None:
    app = library.kb.by_id["app"]
    text = app.summary + "".join(app.points)
    assert "自愿" in text
    assert "必须安装" not in text and "强制安装" not in text.replace("不得强制安装", "")


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / "scams" / f"{name}.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def problems_of(content: Path) -> list[str]:
    with pytest.raises(ContentError) as caught:
        load_entries(content)
    return [str(p) for p in caught.value.problems]


def test_a_valid_new_file_loads(content_copy: Path) -> None:
    write(content_copy, "sample", GOOD)
    assert "sample" in {e.id for e in load_entries(content_copy)}


@pytest.mark.parametrize(
    ("broken", "field", "line", "reason"),
    [
        (GOOD.replace("summary: 一句话说明。\n", ""), "summary", 1, "缺少这一项"),
        (
            GOOD.replace("[立即拨打110报警, 联系银行止付冻结]", "[别慌, 再想想]"),
            "if_scammed",
            12,
            "110",
        ),
        (GOOD.replace("[village]", "[martians]"), "audiences", 13, "不认识的对象"),
        (
            GOOD.replace(
                "triggers: [示例触发一, 示例触发二, 示例触发三]",
                "triggers: [示, 示例触发二, 示例触发三]",
            ),
            "triggers",
            6,
            "不到 2 个字",
        ),
        (GOOD.replace("kind: scam", "kind: rumour"), "kind", 2, "scam 或 topic"),
        (GOOD.replace("id: sample", "id: other"), "id", 1, "和文件名相同"),
        (GOOD + "colour: red\n", "colour", 14, "不认识的字段"),
        (GOOD.replace("示例触发三", "给视频点赞"), "aliases/triggers", 1, "也出现在"),
        (
            GOOD.replace("red_flags: [信号一, 信号二]", "red_flags: 信号一"),
            "red_flags",
            10,
            "一组不为空的文字",
        ),
    ],
)
def test_each_problem_names_file_line_field_and_reason(
    content_copy: Path, broken: str, field: str, line: int, reason: str
) -> None:
    write(content_copy, "sample", broken)
    found = [p for p in problems_of(content_copy) if "sample" in p and f": {field}:" in p]
    assert found, problems_of(content_copy)
    assert reason in found[0]
    if line > 1:
        assert f"sample.yaml:{line}:" in found[0]


def test_unparseable_yaml_names_the_line(content_copy: Path) -> None:
    write(content_copy, "sample", GOOD.replace("name: 示例诈骗", "name: [未闭合"))
    (problem,) = [p for p in problems_of(content_copy) if "sample.yaml" in p]
    assert "无法读取" in problem


def test_all_problems_are_reported_at_once(content_copy: Path) -> None:
    write(content_copy, "sample", GOOD.replace("summary: 一句话说明。\n", ""))
    write(
        content_copy,
        "other",
        GOOD.replace("id: sample", "id: other").replace("kind: scam", "kind: x"),
    )
    found = problems_of(content_copy)
    assert any("sample.yaml" in p for p in found) and any("other.yaml" in p for p in found)


def test_broken_template_and_rules_stop_the_library(content_copy: Path) -> None:
    (content_copy / "templates" / "scam_short.md.j2").write_text("{% if %}", encoding="utf-8")
    (content_copy / "checker" / "rules.yaml").write_text("rules: 3\n", encoding="utf-8")
    with pytest.raises(ContentError) as caught:
        load_library(content_copy)
    text = str(caught.value)
    assert "scam_short.md.j2" in text and "rules.yaml" in text


def test_lint_command_reports_and_exits_nonzero(
    content_copy: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["content", "lint", "--content", str(content_copy)]) == 0
    assert "内容检查通过" in capsys.readouterr().out
    write(content_copy, "sample", GOOD.replace("how: 骗子这样做。\n", ""))
    assert main(["content", "lint", "--content", str(content_copy)]) == 1
    err = capsys.readouterr().err
    assert "sample.yaml" in err and "how" in err and "缺少这一项" in err
