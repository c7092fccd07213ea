"""Portal data: SQL tables, the permission policy, the record store (reads and writes), computed values, rollups, write events and the audit log."""
