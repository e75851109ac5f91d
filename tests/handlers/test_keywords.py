"""Keyword answers in conversations, one-to-one and in groups (accuracy: tests/answers)."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.library import Library
from bot.models import Message
from bot.store.conversations import remember_menu
from tests.conftest import Transcript


async def test_a_named_scam_gets_a_short_answer_and_a_follow_up(sim: Transcript) -> None:
    answer = await sim.say("刷单是什么")
    assert answer is not None
    assert "刷单" in answer and "识别" in answer and "详细 刷单" in answer
    assert sim.last is not None and sim.last.topic == "shuadan"
    assert len(answer) < 700, "a chat answer must stay short"


async def test_detail_follow_up_shows_the_whole_entry(sim: Transcript, library: Library) -> None:
    answer = await sim.say("详细 刷单")
    entry = library.kb.by_id["shuadan"]
    assert answer is not None
    assert entry.how[:10] in answer and entry.example[:10] in answer
    assert all(step[:8] in answer for step in entry.if_scammed)


async def test_menu_lists_topics_and_scams(sim: Transcript, library: Library) -> None:
    answer = await sim.say("菜单")
    assert answer is not None
    assert all(scam.short in answer for scam in library.kb.scams)


async def test_unknown_question_is_logged_for_officers(sim: Transcript) -> None:
    answer = await sim.say("对方说要我往一个账户打钱，这正常吗")
    assert answer is not None and "110" in answer
    assert sim.last is not None and sim.last.intent in {"unmatched", "menu"}
    assert await sim.service.redis.xlen("fz:{unmatched}:log") == 1


async def test_numbered_menu_choice_answers_that_topic(sim: Transcript) -> None:
    redis = sim.service.redis
    member = sim.service.hasher("simulator", "张三")
    async with redis.pipeline() as pipe:
        asker = Message("simulator", "张三", "", "m0", datetime.now(UTC))
        remember_menu(pipe, asker, member, ("kefu", "pingmu", "beipian"))
        await pipe.execute()
    assert await sim.say("2") is not None
    assert sim.last is not None and sim.last.topic == "pingmu"
    assert await sim.say("7") is not None  # no such item: an ordinary (unmatched) question
    assert sim.last is not None and sim.last.topic != "pingmu"
    other = await sim.say("1", user="李四")
    assert sim.last is None or sim.last.topic != "kefu", other


async def test_in_a_group_the_bot_stays_quiet_unless_addressed(sim: Transcript) -> None:
    assert await sim.say("大家晚上好，明天几点开会", group="sim-enterprise") is None
    assert await sim.say("菜单", group="sim-enterprise") is None
    assert await sim.say("@反诈助手 菜单", group="sim-enterprise") is not None
    assert await sim.say("反诈助手 菜单", group="sim-enterprise") is not None


async def test_a_clear_scam_question_in_a_group_is_answered_without_mention(
    sim: Transcript,
) -> None:
    answer = await sim.say("有人拉我进群给视频点赞，这是不是骗子？", group="sim-village")
    assert answer is not None and sim.last is not None and sim.last.topic == "shuadan"
    assert await sim.say("我今天刷单被老板表扬了", group="sim-village") is None


async def test_group_audience_is_named_when_it_is_at_risk(sim: Transcript) -> None:
    answer = await sim.say("@反诈助手 老板加我QQ让我转账", group="sim-finance")
    assert answer is not None and sim.last is not None and sim.last.topic == "lingdao"
    assert "财务" in answer


async def test_a_group_reply_limit_stops_floods(sim: Transcript) -> None:
    limit = sim.service.settings.group_reply_limit
    answers = [await sim.say("@反诈助手 刷单", group="sim-parents") for _ in range(limit + 3)]
    assert all(a is not None for a in answers[:limit])
    assert answers[limit:] == [None, None, None]
    assert await sim.say("刷单是什么") is not None, "one-to-one chats are not limited"


async def test_empty_emoji_and_mixed_script_input(sim: Transcript) -> None:
    assert "您好" in (await sim.say("@反诈助手", group="sim-village") or "")
    assert "您好" in (await sim.say("@反诈助手 ！！", group="sim-village") or "")
    emoji = await sim.say("😱😱有人让我给抖音视频点赞赚钱😂是真的吗")
    assert emoji is not None and sim.last is not None and sim.last.topic == "shuadan"
    mixed = await sim.say("老板加我ＱＱ让我转5万 asap")
    assert mixed is not None and sim.last is not None and sim.last.topic == "lingdao"
    full_width = await sim.say("Ｑｑ好友找我借钱 help")
    assert full_width is not None and sim.last is not None and sim.last.topic == "daohao"


async def test_oversized_message_gets_a_clear_answer(sim: Transcript) -> None:
    answer = await sim.say("刷单" * 1500)
    assert answer is not None and "太长" in answer
    assert await sim.say("刷单" * 1500, group="sim-village") is None
