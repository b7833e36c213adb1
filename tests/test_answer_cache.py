"""The server's cache of encoded answers: by (version, request), least recently used out, within a byte budget,
and emptied of a version's answers once a newer version's answer is put."""

from __future__ import annotations

from duckwifi.api.data import AnswerCache, Encoded


def _answer(size: int) -> Encoded:
    return Encoded(body=b"x" * size, gzipped=None, media_type="application/json")


def test_answers_of_an_older_version_go_when_a_newer_one_is_put():
    cache = AnswerCache(budget_bytes=1000)
    cache.put("v1", "a", _answer(10))
    cache.put("v1", "b", _answer(10))
    assert cache.get("v1", "a") is not None
    assert len(cache) == 2
    cache.put("v2", "a", _answer(10))
    assert len(cache) == 1
    assert cache.get("v1", "b") is None
    assert cache.get("v2", "a") is not None
    # Later puts of the same version keep each other.
    cache.put("v2", "b", _answer(10))
    assert len(cache) == 2


def test_the_least_recently_used_answer_leaves_first_within_the_budget():
    cache = AnswerCache(budget_bytes=30)
    cache.put("v1", "a", _answer(10))
    cache.put("v1", "b", _answer(10))
    cache.put("v1", "c", _answer(10))
    assert cache.get("v1", "a") is not None  # now the most recently used
    cache.put("v1", "d", _answer(10))
    assert cache.get("v1", "b") is None
    assert all(cache.get("v1", k) is not None for k in "acd")


def test_an_answer_larger_than_the_budget_is_not_kept_and_keeps_the_others():
    cache = AnswerCache(budget_bytes=30)
    cache.put("v1", "a", _answer(10))
    cache.put("v1", "huge", _answer(31))
    assert cache.get("v1", "huge") is None
    assert cache.get("v1", "a") is not None


def test_putting_the_same_request_again_replaces_it_without_counting_it_twice():
    cache = AnswerCache(budget_bytes=20)
    cache.put("v1", "a", _answer(10))
    cache.put("v1", "a", _answer(10))
    cache.put("v1", "b", _answer(10))
    assert cache.get("v1", "a") is not None
    assert cache.get("v1", "b") is not None
