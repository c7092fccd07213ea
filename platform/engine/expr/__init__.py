"""The expression language: compile-time checks, the sandbox that evaluates expressions, type checks and text templates."""
