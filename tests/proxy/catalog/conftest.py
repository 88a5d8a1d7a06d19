"""Catalog tests run against the real server (``server`` fixture of tests/conftest.py)."""

from tests.conftest import conn, demo_file, server, truth  # noqa: F401
