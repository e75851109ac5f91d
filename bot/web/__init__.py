"""Pages and JSON endpoints served by the bot; `bot.web.routes` mounts them all."""
