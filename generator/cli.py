"""The generator's commands, for the `obsgen` group of the command layer (obsgen/cli.py).

Each module holds the commands of one concern and imports nothing heavy until a command runs,
so `obsgen --help` stays fast. The generator never imports the runtime: obsgen/cli.py, above
both, adds the runtime's commands (run, up, down, scenario, dr).
"""

from __future__ import annotations

import click

from generator.alertmanager_commands import alert, secrets_group
from generator.compile_commands import explain, gen, init, schema, validate
from generator.importers.commands import import_group
from generator.lint.commands import lint
from generator.live.grafana_commands import grafana
from generator.prometheus_commands import budget, gate, probe_command, reload_command, targets

COMMANDS: tuple[click.Command, ...] = (
    gen,
    validate,
    explain,
    schema,
    init,
    gate,
    targets,
    probe_command,
    budget,
    reload_command,
    alert,
    secrets_group,
    grafana,
    lint,
    import_group,
)
"""Every command and command group of the generator, each under its own name."""
