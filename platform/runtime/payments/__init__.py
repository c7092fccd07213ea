"""Online payments in the served portal: the provider registry of the application, each
portal version's bound providers, and the context providers run in (outbound policy,
database, base URL). The routes (events, the return page), the `payments` block and the API
build on these."""
