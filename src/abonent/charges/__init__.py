"""Charges: rated usage and one-off charges imported from the rating system, monthly fees."""
