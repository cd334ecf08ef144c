"""The fusion of keyword and semantic rankings."""

from __future__ import annotations

from desktop.core.history.fusion import KEYWORD_WEIGHT, anchored_fusion, rrf


def _order(pairs):
    return [doc for doc, _ in pairs]


def test_rrf_rewards_documents_in_both_lists():
    assert _order(rrf([["a", "b", "c"], ["c", "d", "a"]]))[:2] == ["a", "c"]


def test_rrf_lets_a_double_mediocre_match_beat_a_clear_winner():
    # why plain RRF hurts top-1: "m" is 2nd in both lists, "s" is 1st in one only
    assert _order(rrf([["s", "m", "x"], ["k", "m", "y"]]))[0] == "m"


def test_anchored_keeps_a_clear_semantic_winner():
    semantic = {"s": 0.80, "m": 0.55, "k": 0.40}
    keyword = {"k": 12.0, "m": 11.0}
    assert _order(anchored_fusion(semantic, keyword))[0] == "s"


def test_anchored_keyword_breaks_near_ties():
    semantic = {"a": 0.700, "b": 0.695}
    keyword = {"b": 5.0}
    assert _order(anchored_fusion(semantic, keyword)) == ["b", "a"]


def test_anchored_boost_is_bounded_by_the_weight():
    fused = dict(anchored_fusion({"a": 0.5}, {"a": 100.0}))
    assert abs(fused["a"] - (0.5 + KEYWORD_WEIGHT)) < 1e-9


def test_one_sided_inputs_fall_back_to_that_side():
    assert _order(anchored_fusion({"a": 0.2, "b": 0.9}, {})) == ["b", "a"]
    assert _order(anchored_fusion({"a": None, "b": None}, {"a": 1.0, "b": 3.0})) == ["b", "a"]
    assert anchored_fusion({}, {}) == []


def test_unembedded_keyword_hits_get_the_lowest_known_similarity():
    fused = dict(anchored_fusion({"a": 0.9, "b": 0.3, "new": None}, {"new": 2.0, "a": 1.0}))
    assert abs(fused["new"] - (0.3 + KEYWORD_WEIGHT)) < 1e-9
    assert fused["a"] > fused["new"]
