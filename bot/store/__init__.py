"""Redis-backed state: key names, the embedded server, metrics and conversation state."""
