"""The rewrite LRU and the parse cache behave as bounded caches keyed by what results depend on."""

from __future__ import annotations

from proxy.router import split
from rewriter.cache import Compiled, RewriteCache


def test_lru_evicts_least_recently_used():
    cache = RewriteCache(maxsize=2)
    cache.put("a", Compiled("A"))
    cache.put("b", Compiled("B"))
    assert cache.get("a") == Compiled("A")  # a is now the most recent
    cache.put("c", Compiled("C"))
    assert cache.get("b") is None and cache.get("a") is not None and cache.get("c") is not None
    assert len(cache) == 2 and cache.hits == 3 and cache.misses == 1


def test_parse_cache_hands_out_independent_trees():
    sql = "SELECT state, count_customers FROM customer GROUP BY state"
    first, second = split(sql)[0], split(sql)[0]
    assert first.ast == second.ast and first.ast is not second.ast
    first.ast.set("where", None)
    first.ast.expressions[0].replace(first.ast.expressions[1].copy())
    assert split(sql)[0].ast.sql() == second.ast.sql()
