"""Pages and JSON endpoints served by the bot; `bot.web.routes` mounts them all.

Imported only by app.py.
"""
