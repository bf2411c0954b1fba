"""Outgoing SMS: their status from queued to delivered, and the Russian texts they carry."""
