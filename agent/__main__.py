"""``python -m agent`` runs the same CLI as the ``deskpilot`` command."""

from agent.cli import run

run()
