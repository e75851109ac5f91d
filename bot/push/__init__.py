"""A push's path: campaigns, fire times, scheduler, targeting, senders; outbox/ beside them.

Imported by app.py, the console and the CLI; it imports no web module.
"""
