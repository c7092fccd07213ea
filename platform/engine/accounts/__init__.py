"""Accounts: portal users and their passwords."""
