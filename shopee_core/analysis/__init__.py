"""Analyses over matches: embedding maps, error taxonomy, agreement between models."""
