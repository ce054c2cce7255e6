"""Deskpilot core."""
