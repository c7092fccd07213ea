"""Shared fixtures: the Portalis pytest plugin provides `database_url` and friends."""

pytest_plugins = ["portalis.testing.pytest_plugin"]
