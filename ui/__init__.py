"""Deskpilot Qt front end."""
