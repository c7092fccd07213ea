"""This plugin's tests use the Portalis pytest plugin's fixtures (`database_url`: SQLite and
PostgreSQL), which the installed `portalis` distribution registers through its `pytest11`
entry point: nothing to import here."""
