"""The reach dashboard and the monthly report: read-only views over the reach counters.

Imported by web/, the CLI and observability; it imports no channel.
"""
