"""PostgreSQL 15's built-in catalog rows (``pg15_builtin.json.gz``), how they are dumped and kept consistent."""
