"""``genlab arena``: blind head-to-head votes between two models (or presets), and the leaderboard.

    genlab arena run (--a MODEL --b MODEL | --contender MODEL[::PRESET] ...)
                     --prompts FILE|--prompts-from-experiment ID|--prompts-search QUERY
                     [--a-set K=V] [--b-set K=V] [--kind text|image]
                     [--max-tokens N] [--steps N] [--seed S] [--judge human|none]
    genlab arena leaderboard [--kind text|image] [--topic QUERY] [--mode hybrid|keyword|semantic]
                             [--bootstrap N] [--json]
    genlab arena votes [--json]
    genlab arena export FILE.jsonl|FILE.csv
    genlab arena delete VOTE_ID...

``run`` meets every pair of contenders on every prompt (of FILE, one a line; of an
experiment's cells; or of the records a history search finds): two with
``--a``/``--b``, or two to eight with ``--contender`` (repeatable; a preset
after ``::``, as the app's Arena setup reads it: ``--contender
smol.gguf::temperature=1.2, top_p=0.9``; ``--a``/``--b`` count as the first two).  It generates both answers of each pair, saves
them in the history, then prints each pair as A and B in a random order,
without names, and reads one vote a line from stdin: ``1`` A better, ``2`` B
better, ``3`` tie, ``4`` both bad, so votes can be piped in.  The names are
printed after each vote.  A pair one side of which failed (a model that does
not load) is shown, says why, and takes no vote line.  At a terminal an
invalid vote is asked again; from a pipe it stops the run (status 2; the
votes before it are kept).  End of input stops voting (status 0).
``--judge none`` only generates.  A run where an answer failed exits 1.

``leaderboard`` prints the Bradley–Terry scores with 95 % bootstrap
intervals and vote counts, then the star ratings per model from the history,
kept apart.  ``--topic`` keeps the votes whose prompts match that history search.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from desktop.core.errors import GenLabError

TEXT_SUFFIXES = (".gguf",)


def _preset(items: list[str], option: str) -> dict[str, Any]:
    from desktop.core.arena.contenders import preset_value

    values: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise GenLabError(f"{option} needs KEY=VALUE, not {item!r}.", f"For example: {option} temperature=0.2")
        values[key.strip()] = preset_value(value.strip())
    return values


MAX_CONTENDERS = 8
PRESET_MARK = "::"


def _contender_args(args: argparse.Namespace) -> list[tuple[str, dict[str, Any], str]]:
    """(model, preset, option) of each contender named on the command line, --a and --b first."""
    from desktop.core.arena.contenders import parse_preset

    if (args.a is None) != (args.b is None):
        given, missing = ("--a", "--b") if args.a is not None else ("--b", "--a")
        raise GenLabError(f"{given} was given without {missing}.",
                          "Name both, or name every contender with --contender MODEL.")
    named: list[tuple[str, dict[str, Any], str]] = []
    if args.a is not None:
        named += [(args.a, _preset(args.a_set, "--a-set"), "--a"), (args.b, _preset(args.b_set, "--b-set"), "--b")]
    elif args.a_set or args.b_set:
        raise GenLabError("--a-set and --b-set go with --a and --b.",
                          "With --contender, put the preset after '::': --contender MODEL::temperature=0.2")
    for text in args.contender:
        model, _, preset = text.partition(PRESET_MARK)
        if not model.strip():
            raise GenLabError(f"--contender {text!r} names no model.", "Use --contender MODEL or MODEL::KEY=VALUE, ...")
        named.append((model.strip(), parse_preset(preset), "--contender"))
    if len(named) < 2:
        raise GenLabError(f"The arena needs two contenders; the command line names {len(named)}.",
                          "Use --a MODEL --b MODEL, or --contender MODEL at least twice.")
    if len(named) > MAX_CONTENDERS:
        raise GenLabError(f"The arena takes at most {MAX_CONTENDERS} contenders; the command line names "
                          f"{len(named)}.", "Every pair meets on every prompt: run the rest in another arena.")
    return named


def _kind(args: argparse.Namespace, first_model: str) -> str:
    if args.kind:
        return args.kind
    from desktop.core.models.library import resolve_model

    return "text" if resolve_model(first_model).suffix.lower() in TEXT_SUFFIXES else "image"


def _prompts(args: argparse.Namespace, history, kind: str) -> list[str]:
    from desktop.core.arena import prompts

    if args.prompts_from_experiment:
        from desktop.core.experiments.store import ExperimentStore

        return prompts.prompts_from_experiment(ExperimentStore.beside(history), history, args.prompts_from_experiment)
    if args.prompts_search:
        return prompts.prompts_from_search(history, args.prompts_search, kind=kind, mode="keyword")
    return prompts.prompts_from_file(Path(args.prompts))


def _open_history():
    from desktop.core.history import open_history
    from desktop.core.settings import load_settings

    settings, _ = load_settings()
    if settings.history.incognito:
        raise GenLabError("Incognito is on, and every arena answer and vote is kept with the history.",
                          "Turn incognito off in the app's Preferences to use the arena.")
    return settings, open_history(start_embedder=False)


def _show(match, number: int, total: int) -> None:
    print(f"=== Pair {number}/{total} ===")
    print(f"Prompt: {match.prompt}")
    for side, answer in (("A", match.left), ("B", match.right)):
        print(f"--- {side} ---")
        if answer.record is None:
            print(f"(no answer: {answer.error})")
        else:
            print(answer.image_path if match.kind == "image" else answer.text)
    sys.stdout.flush()


def _read_vote(line_number: int):
    """The next verdict from stdin; None at end of input.  Raises VoteRefused for a bad line from a pipe."""
    from desktop.core.arena.errors import VoteRefused
    from desktop.core.arena.votes import parse_verdict

    interactive = sys.stdin.isatty()
    while True:
        if interactive:
            print("Vote (1 A better, 2 B better, 3 tie, 4 both bad): ", end="", flush=True)
        line = sys.stdin.readline()
        if not line:
            return None
        try:
            return parse_verdict(line)
        except VoteRefused as exc:
            if not interactive:
                raise VoteRefused(f"Vote line {line_number}: {exc.message}", exc.hint) from exc
            print(exc, file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from desktop.commands._shared import ProgressLine
    from desktop.core.arena.contenders import check_contenders, make_contender
    from desktop.core.arena.pairing import plan_matches, vote_on
    from desktop.core.arena.runner import generate_answers
    from desktop.core.arena.votes import VoteStore
    from desktop.core.text.engine import LoadOptions

    named = _contender_args(args)
    kind = _kind(args, named[0][0])
    contenders = [make_contender(kind, model, values) for model, values, _ in named]
    check_contenders(contenders)
    common: dict[str, Any] = {}
    if kind == "text":
        common = {"max_tokens": args.max_tokens} if args.max_tokens is not None else {}
    elif args.steps is not None:
        common = {"steps": args.steps}
    settings, history = _open_history()
    try:
        matches = plan_matches(contenders, _prompts(args, history, kind), order_seed=args.seed, seed=args.seed)
        votes = VoteStore.beside(history)
        line = ProgressLine()
        load = LoadOptions(n_ctx=settings.text.context_size, n_threads=settings.text.threads,
                           n_gpu_layers=settings.text.n_gpu_layers)
        try:
            report = generate_answers(matches, history=history, progress=line, common=common,
                                      default_load=load, image_settings=settings.image)
        finally:
            line.done()
        for error in report.load_errors.values():
            print(f"error: {error}", file=sys.stderr)
        recorded = 0
        stopped = False
        for number, match in enumerate(matches, 1):
            _show(match, number, len(matches))
            if not match.votable:
                print(f"Pair {number} cannot be voted on: {' '.join(match.errors)}", file=sys.stderr)
                continue
            if args.judge == "none" or stopped:
                continue
            verdict = _read_vote(recorded + 1)
            if verdict is None:
                stopped = True
                print("No more votes on stdin; the remaining pairs are shown without a vote.", file=sys.stderr)
                continue
            vote_on(match, verdict, votes, history, session_id=report.session_id)
            recorded += 1
            a, b = match.names()
            print(f"Vote recorded: A was {a}, B was {b}.")
        print(f"{report.generated} answers generated, {report.failed} failed; {recorded} votes recorded "
              f"(session {report.session_id}).", file=sys.stderr)
        return 1 if report.failed else 0
    finally:
        history.close()


def _board_json(board, ratings) -> dict[str, Any]:
    return {"kind": board.kind, "topic": board.topic, "votes": board.votes, "bootstrap": board.bootstrap,
            "notice": board.notice,
            "standings": [{"rank": n, "contender": s.label, "score": round(s.score, 3), "low": round(s.low, 3),
                           "high": round(s.high, 3), "votes": s.votes, "wins": s.wins, "losses": s.losses,
                           "ties": s.ties} for n, s in enumerate(board.standings, 1)],
            "star_ratings": [{"model": r.model, "mean": round(r.mean, 3), "count": r.count} for r in ratings]}


def leaderboard(args: argparse.Namespace) -> int:
    from desktop.commands.history import _open, _prepare_search
    from desktop.core.arena.leaderboard import leaderboard as fit
    from desktop.core.arena.topics import star_ratings, votes_on_topic
    from desktop.core.arena.votes import VoteStore

    topic = (args.topic or "").strip()
    if args.bootstrap < 0:
        raise GenLabError(f"--bootstrap must be 0 or more, not {args.bootstrap}.")
    store = _open(with_embedder=bool(topic) and args.mode != "keyword")
    try:
        chosen = VoteStore.beside(store).list(args.kind)
        if topic:
            _prepare_search(store, args.mode)
            chosen = votes_on_topic(chosen, store, topic, mode=args.mode)
        board = fit(chosen, args.kind, bootstrap=args.bootstrap, topic=topic)
        ratings = star_ratings(store, args.kind)
    finally:
        store.close()
    if args.json:
        print(json.dumps(_board_json(board, ratings), ensure_ascii=False))
        return 0
    if board.notice:
        print(board.notice)
    else:
        where = f" on the topic {topic!r}" if topic else ""
        print(f"{board.kind} arena{where}: {board.votes} votes; 95% intervals from {board.bootstrap} bootstrap samples")
        width = max(len("contender"), *(len(s.label) for s in board.standings))
        print(f"{'rank':>4}  {'contender':<{width}}  {'score':>6}  {'95% interval':>13}  {'votes':>5}  W-L-T")
        for n, s in enumerate(board.standings, 1):
            print(f"{n:>4}  {s.label:<{width}}  {s.score:>6.0f}  {s.low:>6.0f}-{s.high:<6.0f}  {s.votes:>5}  "
                  f"{s.wins}-{s.losses}-{s.ties}")
    print()
    if ratings:
        print(f"Star ratings of {args.kind} records (separate from the arena scores):")
        for r in ratings:
            print(f"  {r.model}: {r.mean:.2f} from {r.count} rated")
    else:
        print(f"No {args.kind} records have a star rating.")
    return 0


def _votes():
    from desktop.commands.history import _open
    from desktop.core.arena.votes import VoteStore

    store = _open(with_embedder=False)
    return store, VoteStore.beside(store)


def list_votes(args: argparse.Namespace) -> int:
    from desktop.core.arena.votes import VERDICT_WORDS

    store, votes = _votes()
    try:
        found = votes.list()
    finally:
        store.close()
    if args.json:
        print(json.dumps([v.to_dict() for v in found], ensure_ascii=False))
        return 0
    for v in found:
        print(f"{v.id}  {v.created_at:%Y-%m-%d %H:%M}  {v.kind}  A {v.a_label} vs B {v.b_label}: "
              f"{VERDICT_WORDS[v.verdict]}  {v.prompt[:60]!r}")
    if not found:
        print("No arena votes yet.")
    return 0


def export(args: argparse.Namespace) -> int:
    from desktop.core.arena.votes import export_votes

    store, votes = _votes()
    try:
        count = export_votes(votes, Path(args.file))
    finally:
        store.close()
    print(f"{count} votes written to {args.file}")
    return 0


def delete(args: argparse.Namespace) -> int:
    store, votes = _votes()
    try:
        deleted = votes.delete(args.ids)
    finally:
        store.close()
    print(f"{deleted} votes deleted")
    return 0 if deleted == len(set(args.ids)) else 1


def register(subparsers) -> None:
    p = subparsers.add_parser("arena", help="blind A/B votes between models or presets, and the leaderboard",
                              description="Compare models (or presets of one model) two by two, blind, on your prompts.")
    sub = p.add_subparsers(dest="arena_command", metavar="ACTION", required=True)
    r = sub.add_parser("run", help="generate both answers to each prompt and vote on them")
    r.add_argument("--a", metavar="MODEL", help="the first contender: a model file or library name")
    r.add_argument("--b", metavar="MODEL", help="the second contender")
    r.add_argument("--contender", action="append", default=[], metavar="MODEL[::PRESET]",
                   help="a contender (repeatable, up to 8 with --a/--b); a preset after '::', "
                        "e.g. smol.gguf::temperature=1.2, top_p=0.9")
    r.add_argument("--a-set", action="append", default=[], metavar="KEY=VALUE",
                   help="a preset value for A (temperature=0.2, scheduler=euler, ...); repeatable")
    r.add_argument("--b-set", action="append", default=[], metavar="KEY=VALUE", help="a preset value for B")
    source = r.add_mutually_exclusive_group(required=True)
    source.add_argument("--prompts", metavar="FILE", help="a text file, one prompt a line")
    source.add_argument("--prompts-from-experiment", metavar="ID", help="the prompts of an experiment's cells")
    source.add_argument("--prompts-search", metavar="QUERY",
                        help="the prompts of the history records a keyword search finds (the best 50)")
    r.add_argument("--kind", choices=("text", "image"), help="default: text for a .gguf model, else image")
    r.add_argument("--max-tokens", type=int, help="the most tokens per text answer")
    r.add_argument("--steps", type=int, help="denoising steps per image")
    r.add_argument("--seed", type=int, help="the first prompt's seed (then counting up) and the A/B order's")
    r.add_argument("--judge", choices=("human", "none"), default="human",
                   help="human: read one vote a line from stdin; none: only generate")
    r.set_defaults(func=run)
    lb = sub.add_parser("leaderboard", help="Bradley-Terry scores with 95% intervals, and star ratings")
    lb.add_argument("--kind", choices=("text", "image"), default="text")
    lb.add_argument("--topic", metavar="QUERY", help="only the votes whose prompts match this history search")
    lb.add_argument("--mode", choices=("hybrid", "keyword", "semantic"), default="hybrid",
                    help="how --topic searches")
    lb.add_argument("--bootstrap", type=int, default=1000, help="bootstrap samples for the intervals")
    lb.add_argument("--json", action="store_true")
    lb.set_defaults(func=leaderboard)
    v = sub.add_parser("votes", help="list the votes")
    v.add_argument("--json", action="store_true")
    v.set_defaults(func=list_votes)
    e = sub.add_parser("export", help="write the votes to .jsonl or .csv")
    e.add_argument("file")
    e.set_defaults(func=export)
    d = sub.add_parser("delete", help="delete votes by id")
    d.add_argument("ids", nargs="+", metavar="VOTE_ID")
    d.set_defaults(func=delete)
