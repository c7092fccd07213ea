"""Workflow and automation: transitions and their rules, approvals, timers, automations, actions, the cron scheduler."""
