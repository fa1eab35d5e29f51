"""``python -m evidencectl``."""

from evidencectl.cli.main import run

run()
