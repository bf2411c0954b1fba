"""Sliding-window rate limits kept in the database, so every app worker counts the same hits."""
