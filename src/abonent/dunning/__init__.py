"""The dunning ladder as data and the nightly run (issue #12; docs/dunning.md)."""
