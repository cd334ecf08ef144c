"""Streaming through GenLab's server against in-process generation and llama-cpp-python's own server.

    python -m bench server [--model PATH] [--tokens 128] [--runs 3] [--prompt TEXT]

Alternating runs of the same greedy chat request (repeat penalty off, the
same context size) through

(a) GenLab in process: ``TextEngine.generate`` with a streaming progress
    callback, timed from the call to its return;
(b) ``genlab serve`` in a child process, read with the official ``openai``
    client (``stream=True``, usage included), timed from the request to the
    last chunk;
(c) ``python -m llama_cpp.server`` (llama-cpp-python's ``server`` extra) in
    a child process, read the same way; skipped, with a line saying so, when
    the extra is not installed.

Rates are end to end (completion tokens over the whole request, prompt
processing included; each path keeps the prompt it evaluated last, so
later runs of the same prompt reuse it).  Prints ``server_stream_ratio`` = median (b) / median
(a) tok/s (goal ≥ 0.95), ``vs_llama_cpp_server`` = median (b) / median (c)
(goal ≥ 1.0) and ``added_ttft_ms`` = median TTFT (b) − (a) (goal ≤ 10 ms).
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_MODEL = REPO_ROOT.parent / "shared" / "models" / "SmolLM2-135M-Instruct.Q4_1.gguf"
N_CTX = 8192  # GenLab's automatic context for SmolLM2 (min(training context, 8192)); llama.cpp's server is told


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _in_process(engine, prompt: str, tokens: int) -> tuple[float, float, int]:
    from desktop.core.text.params import SamplingParams
    from desktop.core.text.prompt import TextRequest

    first: list[float] = []

    def progress(report) -> None:
        if not first and getattr(report.payload, "text", ""):
            first.append(time.perf_counter())

    # Like a served request: the prompt the model still holds is not evaluated again.
    request = TextRequest(prompt, mode="chat",
                          sampling=SamplingParams(temperature=0.0, repeat_penalty=1.0, max_tokens=tokens, seed=0))
    start = time.perf_counter()
    result = engine.generate(request, progress=progress)
    total = time.perf_counter() - start
    return result.completion_tokens / total, (first[0] - start) if first else total, result.completion_tokens


def _through(client, model: str, prompt: str, tokens: int) -> tuple[float, float, int]:
    first: float | None = None
    count, chunks = 0, 0
    start = time.perf_counter()
    stream = client.chat.completions.create(
        model=model, messages=[{"role": "user", "content": prompt}], max_tokens=tokens, temperature=0, seed=0,
        stream=True, stream_options={"include_usage": True}, extra_body={"repeat_penalty": 1.0})
    for chunk in stream:
        if chunk.choices and chunk.choices[0].delta.content:
            chunks += 1
            if first is None:
                first = time.perf_counter()
        if chunk.usage is not None:
            count = chunk.usage.completion_tokens
    total = time.perf_counter() - start
    count = count or chunks  # llama-cpp-python's server sends no usage chunk; it streams a chunk a token
    return count / total, (first or time.perf_counter()) - start, count


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
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--prompt", default="Write a long story about a dragon who learns to bake bread.")
    args = parser.parse_args(argv)
    if not args.model.exists():
        print(f"error: no model at {args.model}", file=sys.stderr)
        return 2

    import openai

    home = Path(tempfile.mkdtemp(prefix="genlab-bench-server-"))
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    os.environ["GENLAB_HOME"] = str(home)
    from desktop.core.models.library import Library
    from desktop.core.text.engine import LoadOptions, TextEngine

    entry = Library().add_path(args.model, source="found", owned=False)
    engine = TextEngine(safe_load=False)
    engine.load(args.model, LoadOptions(n_ctx=N_CTX))
    servers: list[subprocess.Popen] = []
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
        model_names = {"genlab_server": entry.name, "llama_cpp_server": str(args.model)}
        for name, client in paths.items():  # warm-up: each path loads and runs once
            _run(name, client, engine, model_names, args.prompt, 8)
        results: dict[str, list[tuple[float, float, int]]] = {name: [] for name in paths}
        for _ in range(args.runs):
            for name, client in paths.items():
                results[name].append(_run(name, client, engine, model_names, args.prompt, args.tokens))
    finally:
        for process in servers:
            process.terminate()
            process.wait(30)
        engine.close()

    rate = {name: statistics.median(r[0] for r in runs) for name, runs in results.items()}
    ttft = {name: statistics.median(r[1] for r in runs) for name, runs in results.items()}
    for name in results:
        tokens = [r[2] for r in results[name]]
        print(f"{name}_tok_s={rate[name]:.2f} ttft_ms={ttft[name] * 1000:.1f} tokens={tokens}")
    print(f"server_stream_ratio={rate['genlab_server'] / rate['in_process']:.3f}")
    if "llama_cpp_server" in rate:
        print(f"vs_llama_cpp_server={rate['genlab_server'] / rate['llama_cpp_server']:.3f}")
    print(f"added_ttft_ms={(ttft['genlab_server'] - ttft['in_process']) * 1000:.1f}")
    return 0


def _run(name: str, client, engine, model_names: dict[str, str], prompt: str, tokens: int):
    if name == "in_process":
        return _in_process(engine, prompt, tokens)
    return _through(client, model_names[name], prompt, tokens)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
