"""Page blocks: the protocol (`base`) and the built-in block types (`builtin`)."""
