"""The Portalis engine: load, validate, compile, migrate, store and authorize — no web."""
