"""The outbox: side effects queued in the writing transaction (jobs), the worker that runs them, notifications, webhooks and the outbound-request policy."""
