"""Debt notices a subscriber can verify (issue #12 part 1; see docs/notices.md)."""
