"""Quizzes: the question bank, rounds and scoring, pledges, timers and the winners export.

Imported by handlers, web/ pages, the dashboard and the CLI.
"""
