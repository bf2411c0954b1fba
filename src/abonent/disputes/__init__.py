"""Disputes (претензии) against charges: filing, deadlines, evidence, resolution."""
