"""The builder's editors, one module per editor, each with a `register(bp)` that adds its
routes; every save goes through `builder.editing`."""
