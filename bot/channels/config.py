"""The configuration of every outside channel, read from the same environment as Settings."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from bot.channels.official_account import OfficialAccountConfig
from bot.channels.wecom_app import WeComAppConfig
from bot.channels.wecom_bot import WeComBotConfig
from bot.channels.wecom_bot_ws import WeComBotWSConfig
from bot.channels.wecom_robot import RobotConfig


@dataclass(frozen=True, slots=True)
class ChannelConfigs:
    """Which WeChat channels are configured; None means that channel is off."""

    wecom_app: WeComAppConfig | None = None
    official_account: OfficialAccountConfig | None = None
    wecom_bot: WeComBotConfig | None = None
    wecom_bot_ws: WeComBotWSConfig | None = None
    robot: RobotConfig = field(default_factory=RobotConfig)

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> ChannelConfigs:
        """Read every channel's variables; raise SettingsError naming a bad one."""
        return cls(
            wecom_app=WeComAppConfig.from_env(env),
            official_account=OfficialAccountConfig.from_env(env),
            wecom_bot=WeComBotConfig.from_env(env),
            wecom_bot_ws=WeComBotWSConfig.from_env(env),
            robot=RobotConfig.from_env(env),
        )
