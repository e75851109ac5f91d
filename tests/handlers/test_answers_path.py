"""The answer path as residents meet it: off-topic, stray input, stories, pasted texts, groups."""

from __future__ import annotations

from tests.conftest import Transcript

UNMATCHED_LOG = "fz:{unmatched}:log"


async def test_an_off_topic_message_gets_a_friendly_refusal_and_is_not_logged(
    sim: Transcript,
) -> None:
    answer = await sim.say("老师好，孩子今天发烧了，想请一天假")
    assert answer is not None and "只回答防骗问题" in answer
    assert sim.last is not None and sim.last.intent == "offtopic"
    assert await sim.say("@反诈助手 下周六我家办喜酒，欢迎大家来", group="sim-village")
    assert sim.last is not None and sim.last.intent == "offtopic"
    assert await sim.service.redis.xlen(UNMATCHED_LOG) == 0


async def test_stray_digits_and_punctuation_are_never_logged(sim: Transcript) -> None:
    for stray in ("7", "？？", "123", "👍"):
        answer = await sim.say(stray)
        assert answer is not None and "菜单" in answer, stray
    assert await sim.service.redis.xlen(UNMATCHED_LOG) == 0


async def test_a_story_gets_the_scam_and_what_to_do_now_not_a_risk_grade(
    sim: Transcript,
) -> None:
    story = (
        "我妈刚才接了个电话，对方说是公安局的，说她的银行卡涉嫌洗钱，"
        "要她把存款转到安全账户配合调查"
    )
    answer = await sim.say(story)
    assert answer is not None and sim.last is not None
    assert sim.last.topic == "gongjianfa" and sim.last.intent == "narrative"
    assert "110" in answer and "96110" in answer and "证据" in answer
    assert "检查结果" not in answer


async def test_a_pasted_message_still_gets_the_checkers_red_flags(sim: Transcript) -> None:
    pasted = (
        "【某某银行】尊敬的客户，您的账户存在异常，已被临时冻结，"
        "请立即登录 yh-jiedong.cn 完成身份认证，否则将影响您的征信。"
    )
    answer = await sim.say(pasted)
    assert answer is not None and "检查结果" in answer
    assert sim.last is not None and sim.last.intent == "check"


async def test_in_a_group_a_scam_in_progress_is_answered_without_a_mention(
    sim: Transcript,
) -> None:
    answer = await sim.say("我妈接了个电话说我儿子出车祸了要打钱", group="sim-village")
    assert answer is not None and "110" in answer
    answer = await sim.say("刚才有个客服让我开屏幕共享，说帮我退款", group="sim-parents")
    assert answer is not None and sim.last is not None and sim.last.topic == "pingmu"


async def test_in_a_group_ordinary_talk_stays_silent(sim: Transcript) -> None:
    for chatter in (
        "明天上午九点村委会开会，大家别迟到",
        "我儿子下个月结婚，到时候请大家喝喜酒",
        "刚给我妈转了生活费，她说收到了",
        "派出所提醒：凡是让你转到安全账户的都是诈骗",
    ):
        assert await sim.say(chatter, group="sim-village") is None, chatter
