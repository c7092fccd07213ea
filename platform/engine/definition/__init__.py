"""The definition: bundles, the YAML loader and source map, the JSON Schema, semantic checks, field types and the compiler that builds the frozen `PortalModel`."""
