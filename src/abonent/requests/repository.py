"""Queries of this domain."""
