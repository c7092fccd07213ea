"""Semantic checks of a definition (after the schema pass): one module per section of the format."""
