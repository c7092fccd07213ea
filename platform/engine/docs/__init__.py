"""Reference documentation generated from the schema, the hookspecs and the facades (`python -m portalis.engine.docs.docgen`)."""
