"""Macros: recorded steps with visual anchors, replayed through the guarded run core with no model."""
