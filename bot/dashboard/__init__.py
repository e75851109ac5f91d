"""The reach dashboard and the monthly report: read-only views over the reach counters."""
