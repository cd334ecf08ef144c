"""The ``--knowledge`` half of ``genlab text``: ground the reply in collections and list its sources.

Before the reply the chosen collections are searched; when nothing reaches the
threshold a ``note:`` says so on stderr and the reply is generated without
context (``--no-context answer``, the default) or not at all (``stop``: exit
1).  A context too small for even one chunk is an ``error:`` (exit 2).  After
the reply its sources are printed, each with its number, file (or history
record), location and score, and whether the reply cites it.
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from desktop.core.knowledge.citations import CitationReport
    from desktop.core.knowledge.grounding import Grounding, GroundingOptions
    from desktop.core.knowledge.store import Knowledge


def add_arguments(p: argparse.ArgumentParser) -> None:
    from desktop.core.knowledge.grounding import DEFAULT_K, DEFAULT_THRESHOLD, NO_CONTEXT_POLICIES

    group = p.add_argument_group("grounding in document collections")
    group.add_argument("--knowledge", action="append", metavar="NAME",
                       help="answer from this collection, citing its chunks (repeatable; 'history' is the history)")
    group.add_argument("--k", type=int, default=DEFAULT_K, help=f"most chunks to give the model (default {DEFAULT_K})")
    group.add_argument("--threshold", type=float, default=DEFAULT_THRESHOLD,
                       help=f"lowest relevance a chunk may have, 0-1 (default {DEFAULT_THRESHOLD})")
    group.add_argument("--no-context", choices=NO_CONTEXT_POLICIES, default="answer", dest="no_context",
                       help="when nothing is relevant: answer without context (default) or stop")


def options(args: argparse.Namespace) -> GroundingOptions:
    from desktop.core.knowledge.grounding import GroundingOptions

    return GroundingOptions(tuple(args.knowledge or ()), args.k, args.threshold, args.no_context).validated()


def open_knowledge(store) -> Knowledge:
    """The collections, sharing the history store's embedder (loading in the background from now)."""
    from desktop.core.knowledge.store import Knowledge

    embedder = getattr(store, "embedder", None)
    if embedder is not None:
        embedder.start_loading()
    return Knowledge(embedder=embedder, history=store)


def say_outcome(grounding: Grounding, *, quiet: bool) -> None:
    """The grounding's message on stderr, before the reply (a note; the CLI's error line is the caller's)."""
    if quiet:
        return
    for note in grounding.notes:
        print(f"note: {note}", file=sys.stderr)
    if grounding.message and grounding.generate:
        print(f"note: {grounding.message} {grounding.hint}".rstrip(), file=sys.stderr)
    elif grounding.generate:
        print(f"[{len(grounding.sources)} sources from {', '.join(grounding.options.collections)}]", file=sys.stderr)


def print_sources(grounding: Grounding, report: CitationReport) -> None:
    """The sources after the reply: number, file (or history record), location, score, cited or not."""
    cited = {s.number for s in report.cited}
    if not grounding.sources:
        print("\nSources: none (answered without context)")
        return
    print("\nSources:")
    for s in grounding.sources:
        where = s.path if s.path else f"history record {s.chunk_id}"
        location = f"  {s.location}" if s.location else ""
        mark = "cited" if s.number in cited else "not cited"
        print(f"[{s.number}] {where}{location}  {grounding.score_kind} {s.score:.3f}  ({mark})")
    if report.out_of_range:
        numbers = ", ".join(f"[{n}]" for n in report.out_of_range)
        print(f"note: the reply cites {numbers}, which {'is' if len(report.out_of_range) == 1 else 'are'} not "
              f"among the {len(grounding.sources)} sources.", file=sys.stderr)


def to_json(grounding: Grounding, report: CitationReport) -> dict:
    data = grounding.to_dict()
    for s in data["sources"]:
        s.pop("text", None)  # the reply's JSON lists sources; their text is in the collection
    data["cited"] = [s.number for s in report.cited]
    data["out_of_range"] = list(report.out_of_range)
    return data
