"""Lens model and SQL rewriting: Postgres SQL over lens entities -> backend SQL.

Imports flow one way: ``proxy`` uses ``rewriter``; ``rewriter`` imports nothing of ours outside itself.
"""
