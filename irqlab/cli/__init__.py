"""The ``irqlab`` command.  Each subcommand lives in its own module of this
package and is registered here; commands only glue layers together."""

from __future__ import annotations

import sys

import click

from irqlab import __version__


def _version_message() -> str:
    from irqlab._compiled import compiled

    return f"%(prog)s %(version)s ({'compiled core' if compiled() else 'pure Python'})"


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="irqlab", message=_version_message())
def cli() -> None:
    """Simulate, observe, stress and diagnose interrupt handling."""


def _register() -> None:
    from irqlab.cli import observe, report, run, sweep, triage

    for module in (run, sweep, report, observe, triage):
        for command in module.COMMANDS:
            cli.add_command(command)


_register()


def main(argv: list[str] | None = None) -> None:
    """Console-script entry point."""
    cli.main(args=argv, prog_name="irqlab", standalone_mode=True)


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
