"""Redis-backed state: key names, the embedded server, groups, metrics and conversation state.

Imported by every feature package; it imports only models and settings.
"""
