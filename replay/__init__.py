"""Deterministic replay of recorded agent runs."""
