"""``python -m tracereel`` runs the CLI."""

from tracereel.cli import main

main()
