"""Macros: recorded steps with visual anchors, replayed on the guarded run core; a model only in tier (d)."""
