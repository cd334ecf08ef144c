"""The fusion of keyword and semantic rankings: rrf, the previous anchored rule, and query_fusion."""

from __future__ import annotations

import math

from desktop.core.history.fusion import KEYWORD_WEIGHT, anchored_fusion, query_fusion, rrf


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


# --- query_fusion: the more confident leg leads ------------------------------------------
N = 848  # the evaluation history's size; a fully matched rare word scores about ln(N + 1) of BM25
RARE = math.log(N + 1)


def test_a_confident_semantic_leg_is_not_overturned_by_weak_keywords():
    # a loose paraphrase: its six words matched only common ones (BM25 well under 6 x ln N), best in "k"
    semantic = {"s": 0.80, "m": 0.55, "k": 0.40}
    keyword = {"k": 0.25 * 6 * RARE, "m": 0.22 * 6 * RARE}
    assert _order(query_fusion(semantic, keyword, 6, N))[0] == "s"


def test_a_rare_exact_term_wins_when_semantic_is_unsure():
    # a name the embedding cannot place: similarities flat and low, one record holds both rare words
    semantic = {"a": 0.34, "b": 0.33, "t": 0.30}
    keyword = {"t": 2 * RARE, "a": 0.2 * RARE}
    assert _order(query_fusion(semantic, keyword, 2, N))[0] == "t"


def test_when_both_legs_are_sure_of_different_records_both_lead_the_rest():
    # each leg's winner stands clear of its runner-up: the two take the first two places, ahead of the
    # record both legs rank second, and the more peaked leg (here the keywords: 0.6 against 0.2) goes first
    semantic = {"s": 0.85, "x": 0.50, "k": 0.45}
    keyword = {"k": 0.6 * 3 * RARE, "x": 0.2 * 3 * RARE}
    assert _order(query_fusion(semantic, keyword, 3, N)) == ["k", "s", "x"]


def test_keywords_decide_between_semantic_near_ties():
    semantic = {"a": 0.600, "b": 0.598, "c": 0.30}
    keyword = {"b": 0.7 * 3 * RARE, "a": 0.3 * 3 * RARE}
    assert _order(query_fusion(semantic, keyword, 3, N))[:2] == ["b", "a"]


def test_query_fusion_scores_are_cosines_without_keyword_hits_and_follow_the_order():
    assert query_fusion({"a": 0.2, "b": 0.9, "c": None}, {}, 3, N) == [("b", 0.9), ("a", 0.2), ("c", 0.2)]
    assert _order(query_fusion({"a": None, "b": None}, {"a": 1.0, "b": 3.0}, 2, N)) == ["b", "a"]
    assert query_fusion({}, {}, 1, N) == []
    fused = query_fusion({"s": 0.7, "m": 0.5, "new": None}, {"new": RARE, "m": 0.5 * RARE}, 2, N)
    scores = [score for _, score in fused]
    assert scores == sorted(scores, reverse=True) and all(math.isfinite(s) for s in scores)
    assert fused[0][1] == max(0.7, RARE / (2 * RARE))  # the best evidence either leg has


def test_query_fusion_keeps_the_callers_order_for_exact_ties():
    assert _order(query_fusion({"x": 0.5, "y": 0.5}, {"z": 0.0}, 1, N))[:2] == ["x", "y"]
