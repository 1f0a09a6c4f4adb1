"""``irqlab triage``: diagnose crash logs (0xE6 / IvtHandleInterrupt, IOMMU faults, storms).

Exit status: 0 when something was found, 1 when nothing was, 2 when an input could
not be read (the others are still scanned and reported).
"""

from __future__ import annotations

import json

import click

from irqlab.cli.errors import InputError, interruptible
from irqlab.triage.diagnose import Triage, TriageError, render_text

FOUND, NOTHING = 0, 1


@click.command()
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("--json", "as_json", is_flag=True, help='Print {"findings": [...]} instead of text.')
@interruptible
def triage(files: tuple[str, ...], as_json: bool) -> None:
    """Find bug checks, IOMMU DMA faults and IRQ storms in FILE... ('-' = stdin)."""
    run = Triage()
    errors: list[TriageError] = []
    for path in files:
        try:
            run.scan_path(path)
        except TriageError as exc:
            errors.append(exc)
    findings = run.close()
    if as_json:
        click.echo(json.dumps(findings.to_json(), indent=2))
        for note in run.notes:
            click.echo(f"note: {note}", err=True)
    else:
        click.echo(render_text(findings, run.notes), nl=False)
    if errors:
        for error in errors[:-1]:
            click.echo(f"Error: {error.source}: {error}", err=True)
        raise InputError(str(errors[-1]), source=errors[-1].source)
    raise SystemExit(FOUND if len(findings) else NOTHING)


COMMANDS: list[click.Command] = [triage]
