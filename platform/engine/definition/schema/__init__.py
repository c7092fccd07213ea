"""The JSON Schema of definition format v1 and its documentation generator."""
