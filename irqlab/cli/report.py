"""`irqlab` subcommands of the report family (being built)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
