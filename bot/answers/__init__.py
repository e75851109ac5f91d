"""Answering a question: content loading, matching, the checker, rendering replies.

Imported by handlers, library.py and the push and quiz packages; it imports no channel or web.
"""
