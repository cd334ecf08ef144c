"""Does grounding make a small model answer with the fact?  End to end on SmolLM2-135M-Instruct.

The 44 questions of ``bench/data/knowledge/questions.jsonl`` whose answer is a
short fact (``short_fact``) are asked twice on the real model, greedy with a
fixed seed: once plain, once grounded through the real pipeline
(:func:`~desktop.core.knowledge.grounding.ground` over the evaluation
documents indexed with the real chunker, embedder and LanceDB, packed with the
loaded model's own tokenizer, then
:func:`~desktop.core.knowledge.grounding.grounded_generate`).  A reply
*contains the fact* when the fact appears in it, case and runs of whitespace
ignored.  Also reported: how often the fact was in the sources given
(retrieval's ceiling for the grounded rate), the grounding outcomes, and the
replies that cite a source or cite a number that is not one.

    python -m bench knowledge_answer [--limit N] [--k 5] [--threshold 0.3] [--max-tokens 64]
                                     [--model PATH] [--show]

A 135M model is weak; the comparison between the two rates is what matters.
"""

from __future__ import annotations

import argparse
import os
import re
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from bench.knowledge_eval import DATA, load_questions  # noqa: E402

MODEL = Path(__file__).resolve().parents[1].parent / "shared" / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"
SEED = 1234


def contains(reply: str, fact: str) -> bool:
    flat = lambda s: re.sub(r"\s+", " ", s).strip().lower()  # noqa: E731
    return flat(fact) in flat(reply)


def main(argv: list[str]) -> int:
    from desktop.core.knowledge.grounding import DEFAULT_K, DEFAULT_THRESHOLD

    parser = argparse.ArgumentParser(prog="python -m bench knowledge_answer")
    parser.add_argument("--limit", type=int, default=0, help="only the first N short-fact questions (0: all)")
    parser.add_argument("--k", type=int, default=DEFAULT_K)
    parser.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD)
    parser.add_argument("--max-tokens", type=int, default=64)
    parser.add_argument("--model", type=Path, default=Path(os.environ.get("GENLAB_BENCH_TEXT_MODEL", MODEL)))
    parser.add_argument("--show", action="store_true", help="print every question, fact and both replies")
    args = parser.parse_args(argv)

    from desktop.core.history.embedder import Embedder
    from desktop.core.knowledge.budget import EngineBudget
    from desktop.core.knowledge.citations import parse_citations
    from desktop.core.knowledge.grounding import GroundingOptions, Outcome, ground, grounded_generate
    from desktop.core.knowledge.store import Knowledge
    from desktop.core.records import NullSink
    from desktop.core.text.engine import TextEngine
    from desktop.core.text.params import SamplingParams
    from desktop.core.text.prompt import TextRequest

    questions = [q for q in load_questions() if q.get("short_fact")]
    if args.limit:
        questions = questions[:args.limit]
    embedder = Embedder()
    embedder.load()
    options = GroundingOptions(("eval",), args.k, args.threshold, "answer")
    plain_hits = grounded_hits = in_sources = cited = out_of_range = 0
    outcomes: Counter[str] = Counter()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["GENLAB_HOME"] = str(Path(tmp) / "home")  # the engine's library and locks stay here
        knowledge = Knowledge(Path(tmp) / "knowledge", embedder=embedder)
        engine = TextEngine(safe_load=False)
        try:
            knowledge.add("eval", [DATA / "docs"])
            knowledge.index("eval")
            loaded = engine.load(args.model)
            budget = EngineBudget(engine)
            for q in questions:
                def request(question: str = q["question"]) -> TextRequest:
                    sampling = SamplingParams(temperature=0.0, max_tokens=args.max_tokens, seed=SEED)
                    return TextRequest(question, sampling=sampling, fresh_context=True)

                plain = engine.generate(request(), sink=NullSink()).text
                grounding = ground(request(), options, knowledge, budget)
                outcomes[grounding.outcome.value] += 1
                grounded = grounded_generate(engine, grounding, sink=NullSink()).text if grounding.generate else ""
                report = parse_citations(grounded, grounding.sources)
                hit_plain, hit_grounded = contains(plain, q["short_fact"]), contains(grounded, q["short_fact"])
                plain_hits += hit_plain
                grounded_hits += hit_grounded
                in_sources += any(contains(s.text, q["short_fact"]) for s in grounding.sources)
                cited += bool(report.cited)
                out_of_range += bool(report.out_of_range)
                done = questions.index(q) + 1
                print(f"[{done}/{len(questions)}] {q['id']} plain={'hit' if hit_plain else 'miss'} "
                      f"grounded={'hit' if hit_grounded else 'miss'} so far plain={plain_hits} grounded={grounded_hits}",
                      flush=True)
                if args.show:
                    print(f"--- {q['id']} {q['kind']}: {q['question']}\n    fact: {q['short_fact']!r}  "
                          f"sources={len(grounding.sources)} outcome={grounding.outcome.value}")
                    print(f"    plain ({'hit' if hit_plain else 'miss'}): {plain.strip()[:300]!r}")
                    print(f"    grounded ({'hit' if hit_grounded else 'miss'}): {grounded.strip()[:300]!r}")
        finally:
            engine.close()
            knowledge.close()
    n = len(questions)
    print(f"model={loaded.info.name} file={args.model.name} n_ctx={loaded.n_ctx} questions={n} k={args.k} "
          f"threshold={args.threshold} max_tokens={args.max_tokens} seed={SEED} greedy")
    print(f"plain_contains_fact={plain_hits}/{n} ({plain_hits / n:.3f})")
    print(f"grounded_contains_fact={grounded_hits}/{n} ({grounded_hits / n:.3f})")
    print(f"fact_in_sources={in_sources}/{n} ({in_sources / n:.3f})  outcomes={dict(outcomes)}")
    print(f"grounded_replies_citing_a_source={cited}/{n}  citing_a_missing_number={out_of_range}/{n}")
    print(f"wall_s={time.perf_counter() - started:.0f}")
    return 0 if outcomes[Outcome.GROUNDED.value] or not n else 1
