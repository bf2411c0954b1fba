"""The contact gate every debt contact passes (issue #12 part 1; see docs/notices.md)."""
