"""The skills Deskpilot ships: each module here defines one ``SKILL`` (the registry finds them)."""
