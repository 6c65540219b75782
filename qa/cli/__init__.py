"""The ``qa`` command (Typer): ``qa.cli.commands`` holds the commands, ``qa.cli.answers`` asks a
running server and prints answers."""

from qa.cli.commands import app

__all__ = ["app"]
