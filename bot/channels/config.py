"""The configuration of every outside channel, read from the same environment as Settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.channels.official_account import OfficialAccountConfig
from bot.channels.wecom_app import WeComAppConfig
from bot.channels.wecom_bot import WeComBotConfig
from bot.channels.wecom_bot_ws import WeComBotWSConfig
from bot.channels.wecom_robot import RobotConfig
from bot.settings import SettingsError

_BOT_MODE = (
    "设置了智能机器人 ID，但没有选择接入方式：回调方式请设置 WECOM_BOT_TOKEN 和 "
    "WECOM_BOT_AES_KEY，长连接方式请设置 WECOM_BOT_SECRET"
)


@dataclass(frozen=True, slots=True)
class ChannelConfigs:
    """Which WeChat channels are configured; None means that channel is off."""

    wecom_app: WeComAppConfig | None = None
    official_account: OfficialAccountConfig | None = None
    wecom_bot: WeComBotConfig | None = None
    wecom_bot_ws: WeComBotWSConfig | None = None
    robot: RobotConfig = field(default_factory=RobotConfig)

    @property
    def receiving(self) -> bool:
        """Return True when a channel that residents or staff write to is configured."""
        return any((self.wecom_app, self.official_account, self.wecom_bot, self.wecom_bot_ws))

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ChannelConfigs:
        """Read every channel's variables; raise SettingsError naming a bad one."""
        configs = cls(
            wecom_app=WeComAppConfig.from_env(env),
            official_account=OfficialAccountConfig.from_env(env),
            wecom_bot=WeComBotConfig.from_env(env),
            wecom_bot_ws=WeComBotWSConfig.from_env(env),
            robot=RobotConfig.from_env(env),
        )
        bot_id = (env.get("WECOM_BOT_ID") or "").strip()
        if bot_id and configs.wecom_bot is None and configs.wecom_bot_ws is None:
            raise SettingsError("WECOM_BOT_ID", bot_id, _BOT_MODE)
        return configs
