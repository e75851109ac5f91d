"""Quiz questions: the bank loaded from content/quiz/."""
