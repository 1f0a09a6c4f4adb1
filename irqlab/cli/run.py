"""`irqlab` subcommands of the run family (being built)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
