"""反诈助手 (fanzha-bot): an anti-fraud publicity chat bot service."""
