"""Streaming through GenLab's server against in-process generation and llama-cpp-python's own server.

    python -m bench server [--model PATH] [--tokens 128] [--runs 5] [--prompts both|distinct|repeated]
    python -m bench server --clients 8 [--seconds 60] [--tokens 64] [--one-app]

**Speed** (the default).  Rounds of the same greedy chat requests (repeat
penalty off, the same context size), each round alternating through

(a) GenLab in process: ``TextEngine.generate`` with a streaming progress
    callback, timed from the call to its return;
(b) ``genlab serve`` in a child process, read with the official ``openai``
    client (``stream=True``, usage included), timed from the request to the
    last chunk;
(c) ``python -m llama_cpp.server`` (llama-cpp-python's ``server`` extra) in
    a child process, read the same way; skipped, with a line saying so, when
    the extra is not installed.

Two prompt sets, reported apart:

- ``distinct``: every round asks a new question with its own system message,
  and the prompts differ from their first word, so no path can reuse what it
  evaluated for an earlier request (llama-cpp-python's server keeps any common
  prefix; GenLab keeps whole 512-token batches and prompts asked again);
- ``repeated``: one prompt every round, so each path can skip the prompt's
  evaluation (llama-cpp-python's server evaluates its last token again;
  GenLab restores the prompt's state and its logits as evaluated fresh).

Rates are end to end (completion tokens over the whole request, prompt
processing included); ``decode`` is tokens after the first over the time
after it.  For each set it prints the median over rounds of the per-round
ratios ``server_stream_ratio`` = (b) / (a) tok/s (goal ≥ 0.95) and
``vs_llama_cpp_server`` = (b) / (c) (goal ≥ 1.0), and ``added_ttft_ms`` =
the median over rounds of TTFT (b) − (a) in the same round (goal ≤ 10 ms).

**Load** (``--clients N``).  N threads, each with its own ``openai`` client,
stream distinct chat requests from ``genlab serve`` for ``--seconds``, one
after another.  Each client names itself (``User-Agent: bench-client-K``),
as separate apps do; with ``--one-app`` all keep the ``openai`` package's
User-Agent, so the server sees one app sending N requests at once and holds
at most its share of them waiting (the rest get 429).  A refusal (429/503) must carry ``Retry-After``, which the
client then waits.  Reported: requests answered, refused and failed (any
other error, or a stream without a finish reason); the most requests that
finished while one request waited for its own end (its queue position: with
one request in flight per client, round-robin lets at most N − 1 others
finish first, so more means a request was overtaken, i.e. starved); the
median service time (the engine runs one request at a time, so the gaps
between successive completions are service times) and the longest wait
before a request's first token against N × median service time (a timing
figure: it includes the request's own prompt evaluation, and a busy host
stretches some service times far beyond the median).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = REPO_ROOT.parent / "shared" / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"
N_CTX = 8192  # GenLab's automatic context for SmolLM2 (min(training context, 8192)); llama.cpp's server is told
SUBJECTS = ["Dragons", "Bread", "Lighthouses", "Volcanoes", "Bicycles", "Owls", "Glaciers", "Chess", "Bees",
            "Trains", "Coral", "Kites", "Comets", "Violins", "Deserts", "Otters", "Castles", "Tea", "Robots",
            "Rivers", "Maps", "Clocks", "Foxes", "Islands"]
REPEATED = ("You are a helpful assistant.", "Write a long story about a dragon who learns to bake bread.")


def distinct_prompt(i: int) -> tuple[str, str]:
    """(system, user) of the i-th distinct request: different from the first word on."""
    subject = SUBJECTS[i % len(SUBJECTS)]
    return (f"{subject} are your favourite subject (request {i}). You are a helpful assistant.",
            f"Write a long story about {subject.lower()} and number {i}.")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Run:
    rate: float  # completion tokens / whole request
    ttft: float
    decode: float  # tokens after the first / time after the first
    tokens: int


def _run_of(count: int, start: float, first: float | None, end: float) -> Run:
    ttft = (first or end) - start
    decode = (count - 1) / (end - first) if first is not None and count > 1 and end > first else 0.0
    return Run(count / (end - start), ttft, decode, count)


def _in_process(engine, prompt: tuple[str, str], tokens: int) -> Run:
    from desktop.core.text.params import SamplingParams
    from desktop.core.text.prompt import TextRequest

    first: list[float] = []

    def progress(report) -> None:
        if not first and getattr(report.payload, "text", ""):
            first.append(time.perf_counter())

    request = TextRequest(prompt[1], system_prompt=prompt[0], mode="chat",
                          sampling=SamplingParams(temperature=0.0, repeat_penalty=1.0, max_tokens=tokens, seed=0))
    start = time.perf_counter()
    result = engine.generate(request, progress=progress)
    return _run_of(result.completion_tokens, start, first[0] if first else None, time.perf_counter())


def _messages(prompt: tuple[str, str]) -> list[dict[str, str]]:
    return [{"role": "system", "content": prompt[0]}, {"role": "user", "content": prompt[1]}]


def _through(client, model: str, prompt: tuple[str, str], tokens: int) -> Run:
    first: float | None = None
    count, chunks = 0, 0
    start = time.perf_counter()
    stream = client.chat.completions.create(
        model=model, messages=_messages(prompt), max_tokens=tokens, temperature=0, seed=0,
        stream=True, stream_options={"include_usage": True}, extra_body={"repeat_penalty": 1.0})
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            chunks += 1
            if first is None:
                first = time.perf_counter()
        if chunk.usage is not None:
            count = chunk.usage.completion_tokens
    end = time.perf_counter()
    return _run_of(count or chunks, start, first, end)  # llama-cpp-python's server: a chunk a token, no usage


def _wait_listening(process: subprocess.Popen, url: str, timeout: float = 180.0) -> None:
    import httpx2

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server exited with status {process.returncode}")
        try:
            if httpx2.get(f"{url}/models", timeout=2).status_code == 200:
                return
        except httpx2.HTTPError:
            pass
        time.sleep(0.2)
    raise TimeoutError(f"{url} did not answer")


def _genlab_server(home: Path, env: dict[str, str]) -> tuple[subprocess.Popen, str]:
    process = subprocess.Popen([sys.executable, "-m", "desktop", "serve", "--port", "0", "--no-history"],
                               cwd=REPO_ROOT, env=dict(env, GENLAB_HOME=str(home)), stdout=subprocess.PIPE,
                               stderr=subprocess.DEVNULL, text=True)
    line = process.stdout.readline() if process.stdout else ""
    if not line.startswith("GenLab API on "):
        raise RuntimeError(f"genlab serve did not start: {line!r}")
    return process, line.split()[3]


def _llama_cpp_server(model: Path, env: dict[str, str]) -> tuple[subprocess.Popen, str] | None:
    try:
        import llama_cpp.server.app  # noqa: F401 - only to know whether the extra is installed
    except ImportError:
        return None
    port = _free_port()
    process = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(model), "--host",
                                "127.0.0.1", "--port", str(port), "--n_ctx", str(N_CTX)],
                               env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return process, f"http://127.0.0.1:{port}/v1"


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench server", description=__doc__.split("\n")[0])
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--tokens", type=int, default=None, help="completion tokens (128; 64 under load)")
    parser.add_argument("--runs", type=int, default=5, help="rounds of each prompt set")
    parser.add_argument("--prompts", choices=("both", "distinct", "repeated"), default="both")
    parser.add_argument("--clients", type=int, default=0, help="load mode: this many concurrent clients")
    parser.add_argument("--seconds", type=float, default=60.0, help="load mode: how long")
    parser.add_argument("--one-app", action="store_true", help="load mode: every client sends one User-Agent")
    args = parser.parse_args(argv)
    if not args.model.exists():
        print(f"error: no model at {args.model}", file=sys.stderr)
        return 2
    home = Path(tempfile.mkdtemp(prefix="genlab-bench-server-"))
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    os.environ["GENLAB_HOME"] = str(home)
    from desktop.core.models.library import Library

    entry = Library().add_path(args.model, source="found", owned=False)
    if args.clients:
        return _load(home, env, entry.name, args.clients, args.seconds, args.tokens or 64, args.one_app)
    return _speed(home, env, args, entry.name, args.tokens or 128)


def _speed(home: Path, env: dict[str, str], args: argparse.Namespace, model_name: str, tokens: int) -> int:
    import openai

    from desktop.core.text.engine import LoadOptions, TextEngine

    engine = TextEngine(safe_load=False)
    engine.load(args.model, LoadOptions(n_ctx=N_CTX))
    servers: list[subprocess.Popen] = []
    sets = ["distinct", "repeated"] if args.prompts == "both" else [args.prompts]
    results: dict[str, dict[str, list[Run]]] = {}
    try:
        genlab, genlab_url = _genlab_server(home, env)
        servers.append(genlab)
        paths: dict[str, object] = {"in_process": None,
                                    "genlab_server": openai.OpenAI(base_url=genlab_url, api_key="-", max_retries=0)}
        llama = _llama_cpp_server(args.model, env)
        if llama is None:
            print("llama_cpp_server: skipped (pip install 'llama-cpp-python[server]')")
        else:
            servers.append(llama[0])
            _wait_listening(llama[0], llama[1])
            paths["llama_cpp_server"] = openai.OpenAI(base_url=llama[1], api_key="-", max_retries=0)
        names = {"genlab_server": model_name, "llama_cpp_server": str(args.model)}

        def run(path: str, prompt: tuple[str, str], n: int) -> Run:
            if path == "in_process":
                return _in_process(engine, prompt, n)
            return _through(paths[path], names[path], prompt, n)

        for path in paths:  # warm-up: each path loads and runs once
            run(path, distinct_prompt(1000), 8)
        for kind in sets:
            results[kind] = {path: [] for path in paths}
            if kind == "repeated":  # the first ask of the prompt is not a repeat
                for path in paths:
                    run(path, REPEATED, 8)
            for i in range(args.runs):
                prompt = distinct_prompt(i) if kind == "distinct" else REPEATED
                for path in paths:
                    results[kind][path].append(run(path, prompt, tokens))
    finally:
        for process in servers:
            process.terminate()
            process.wait(30)
        engine.close()
    for kind, runs in results.items():
        _report(kind, runs)
    return 0


def _report(kind: str, runs: dict[str, list[Run]]) -> None:
    print(f"[{kind} prompts, {len(runs['in_process'])} rounds]")
    for path, rows in runs.items():
        print(f"  {path}: tok_s={statistics.median(r.rate for r in rows):.2f} "
              f"decode_tok_s={statistics.median(r.decode for r in rows):.2f} "
              f"ttft_ms={statistics.median(r.ttft for r in rows) * 1000:.1f} tokens={[r.tokens for r in rows]}")
    ours = runs["genlab_server"]

    def ratio(other: str, attr: str = "rate") -> float:
        return statistics.median(getattr(a, attr) / getattr(b, attr) for a, b in zip(ours, runs[other]))

    print(f"  server_stream_ratio={ratio('in_process'):.3f} (decode {ratio('in_process', 'decode'):.3f})")
    if "llama_cpp_server" in runs:
        print(f"  vs_llama_cpp_server={ratio('llama_cpp_server'):.3f} (decode {ratio('llama_cpp_server', 'decode'):.3f})")
    added = statistics.median(a.ttft - b.ttft for a, b in zip(ours, runs["in_process"]))
    print(f"  added_ttft_ms={added * 1000:.1f}")


@dataclass
class _Tally:
    lock: threading.Lock = field(default_factory=threading.Lock)
    answered: int = 0
    refused: int = 0
    refused_without_retry_after: int = 0
    failed: list[str] = field(default_factory=list)
    waits: list[float] = field(default_factory=list)  # request sent -> first token
    spans: list[tuple[float, float]] = field(default_factory=list)  # (sent, finished) of answered requests
    per_client: dict[int, int] = field(default_factory=dict)


def _client_loop(index: int, url: str, model: str, tokens: int, stop_at: float, tally: _Tally,
                 one_app: bool) -> None:
    import openai

    headers = None if one_app else {"User-Agent": f"bench-client-{index}"}
    client = openai.OpenAI(base_url=url, api_key="-", max_retries=0, timeout=600, default_headers=headers)
    i = 0
    while time.monotonic() < stop_at:
        prompt = distinct_prompt(index * 10_000 + i)
        i += 1
        sent = time.monotonic()
        first: float | None = None
        finish = None
        try:
            stream = client.chat.completions.create(model=model, messages=_messages(prompt), max_tokens=tokens,
                                                    temperature=0, stream=True)
            for chunk in stream:
                if chunk.choices and chunk.choices[0].delta.content and first is None:
                    first = time.monotonic()
                if chunk.choices and chunk.choices[0].finish_reason:
                    finish = chunk.choices[0].finish_reason
        except openai.APIStatusError as exc:
            retry = exc.response.headers.get("retry-after")
            with tally.lock:
                if exc.status_code in (429, 503):
                    tally.refused += 1
                    tally.refused_without_retry_after += retry is None
                else:
                    tally.failed.append(f"{exc.status_code}: {exc}")
            if exc.status_code in (429, 503) and retry is not None:
                time.sleep(min(float(retry), max(0.0, stop_at - time.monotonic())))
            continue
        except Exception as exc:  # a broken connection or stream: counted, and the client goes on
            with tally.lock:
                tally.failed.append(f"{type(exc).__name__}: {exc}")
            continue
        end = time.monotonic()
        with tally.lock:
            if finish is None:
                tally.failed.append("a stream ended without a finish reason")
                continue
            tally.answered += 1
            tally.per_client[index] = tally.per_client.get(index, 0) + 1
            tally.waits.append((first or end) - sent)
            tally.spans.append((sent, end))


def _load(home: Path, env: dict[str, str], model: str, clients: int, seconds: float, tokens: int,
          one_app: bool) -> int:
    import openai

    server, url = _genlab_server(home, env)
    try:
        openai.OpenAI(base_url=url, api_key="-", max_retries=0).chat.completions.create(  # loads the model
            model=model, messages=_messages(distinct_prompt(99_999)), max_tokens=4)
        tally = _Tally()
        stop_at = time.monotonic() + seconds
        threads = [threading.Thread(target=_client_loop, args=(i, url, model, tokens, stop_at, tally, one_app))
                   for i in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        server.terminate()
        server.wait(30)
    ends = sorted(end for _, end in tally.spans)
    gaps = [b - a for a, b in zip(ends, ends[1:])]
    overtaken = max((sum(sent < end < own_end for end in ends) for sent, own_end in tally.spans), default=0)
    service = statistics.median(gaps) if gaps else float("nan")
    longest = max(tally.waits, default=float("nan"))
    bound = clients * service
    print(f"clients={clients} ({'one User-Agent' if one_app else 'one User-Agent each'}) seconds={seconds:g} "
          f"tokens={tokens}")
    print(f"answered={tally.answered} refused={tally.refused} (without Retry-After: "
          f"{tally.refused_without_retry_after}) failed={len(tally.failed)}")
    for failure in tally.failed[:5]:
        print(f"  failure: {failure}")
    print(f"per_client_answered={[tally.per_client.get(i, 0) for i in range(clients)]}")
    starved = overtaken > clients - 1
    print(f"most_finished_while_waiting={overtaken} (at most {clients - 1} in turn) starved={'YES' if starved else 'no'}")
    print(f"median_service_s={service:.3f} median_wait_s={statistics.median(tally.waits or [0]):.3f} "
          f"max_wait_s={longest:.3f} {clients}x_median_service_s={bound:.3f}")
    return 0 if not tally.failed and not tally.refused_without_retry_after and not starved else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
