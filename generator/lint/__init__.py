"""obs-lint: offline checks of Prometheus rule files against the spec model.

The engine is `generator.lint.engine` (`lint_files`); this package's import stays empty so
`obsgen --help` does not load the checks.
"""
