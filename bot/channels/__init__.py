"""Channel adapters: verify and parse inbound traffic, render replies; each reads its own settings.

Imported by app.py (which composes them), push/ senders and web/; never by handlers.
"""
