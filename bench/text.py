"""Streaming overhead of the GUI path against bare llama-cpp-python.

    python -m bench text [--model PATH] [--tokens 1500] [--runs 5] [--prompt TEXT]

Alternating runs, in one process, of

(a) the GUI path: the text engine as a job on the JobRunner's engine thread,
    progress signals delivered to a live (offscreen) ChatWorkspace, which
    appends the streamed text to its transcript and renders the finished
    reply; timed from ``generate()`` to ``reply_finished``;
(b) bare ``Llama.create_completion(stream=True)``, every chunk consumed;

both greedy on the same prompt and token budget.  Rates are end to end
(generated tokens over the whole request, prompt processing included).
Prints ``text_stream_ratio`` = median (a) tok/s / median (b) tok/s and the
TTFT difference, plus ``bare_generate_tok_s``: ``Llama.generate`` with no
text handling at all, the floor both paths build on.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "shared" / "models" / "stories260K.gguf"


def _wait(app, predicate, timeout: float = 120.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("benchmark step timed out")
        app.processEvents()
        time.sleep(0.0005)


def _gui_run(app, ws, prompt: str) -> tuple[float, float, int, str]:
    """(tok/s, ttft s, tokens, text) for one reply through the workspace."""
    from PySide6.QtCore import QEventLoop

    done: list = []
    first: list[float] = []
    ws.new_chat()
    ws.input.setPlainText(prompt)
    loop = QEventLoop()

    def finished(result) -> None:
        done.append((time.perf_counter(), result))
        loop.quit()

    ws.reply_finished.connect(finished)
    start = time.perf_counter()
    ws.generate()

    def first_text() -> None:  # the first streamed text reaching the view
        if not first:
            first.append(time.perf_counter())

    # Safe to connect now: streamed text only reaches the view through the event loop.
    ws.transcript.textChanged.connect(first_text)
    if not done:
        loop.exec()  # the real event loop: sleeps until a signal arrives, as in the app
    ws.reply_finished.disconnect(finished)
    ws.transcript.textChanged.disconnect(first_text)
    end, result = done[0]
    _wait(app, lambda: not ws.busy)
    ttft = (first[0] if first else end) - start
    return result.completion_tokens / (end - start), ttft, result.completion_tokens, result.text


def _bare_run(llm, prompt: str, tokens: int) -> tuple[float, float, int, str]:
    start = time.perf_counter()
    first = None
    parts = []
    finish = None
    chunks = 0
    for chunk in llm.create_completion(prompt, max_tokens=tokens, temperature=0.0, top_k=40, top_p=0.95,
                                       min_p=0.05, repeat_penalty=1.0, seed=0, stream=True):
        if first is None:
            first = time.perf_counter()
        choice = chunk["choices"][0]
        parts.append(choice["text"])
        finish = choice["finish_reason"] or finish
        chunks += 1
    end = time.perf_counter()
    text = "".join(parts)
    n = tokens if finish == "length" else len(llm.tokenize(text.encode("utf-8"), add_bos=False))
    return n / (end - start), (first or end) - start, n, text


def _raw_generate_rate(llm, prompt: str, tokens: int) -> float:
    ids = llm.tokenize(prompt.encode("utf-8"), add_bos=True, special=True)
    start = time.perf_counter()
    n = 0
    for _ in llm.generate(ids, temp=0.0, top_k=40, top_p=0.95, min_p=0.05, repeat_penalty=1.0):
        n += 1
        if n >= tokens:
            break
    return n / (time.perf_counter() - start)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench text")
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--tokens", type=int, default=1500)
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--prompt", default="Once upon a time")
    args = parser.parse_args(argv)
    if not args.model.exists():
        print(f"error: model not found: {args.model}", file=sys.stderr)
        return 2
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    home = tempfile.TemporaryDirectory(prefix="genlab-bench-")
    os.environ["GENLAB_HOME"] = home.name

    import llama_cpp
    from PySide6.QtWidgets import QApplication

    from desktop.core.records import ListSink
    from desktop.core.services import Services
    from desktop.core.settings import Settings
    from desktop.ui.chat.view import ChatWorkspace
    from desktop.ui.runner import JobRunner

    app = QApplication.instance() or QApplication([])
    services = Services(Settings())
    services.set_history(ListSink())
    runner = JobRunner(io_workers=1)
    ws = ChatWorkspace(services, runner)
    ws.resize(1100, 750)
    ws.show()
    loaded_models: list = []
    ws.model_changed.connect(loaded_models.append)
    ws.model_bar.select_path(str(args.model))
    ws.load_model(str(args.model))
    _wait(app, lambda: bool(loaded_models) and not ws.busy)
    loaded = ws.engine.loaded
    panel = ws.settings_panel
    panel.apply_preset("Precise (greedy)")
    panel.max_tokens.setValue(args.tokens)
    panel.set_mode("completion")

    llm = llama_cpp.Llama(model_path=str(args.model), n_ctx=loaded.n_ctx, n_threads=loaded.n_threads or None,
                          verbose=False)
    _gui_run(app, ws, args.prompt)  # warm-up both paths
    _bare_run(llm, args.prompt, args.tokens)

    gui, bare, raws = [], [], []
    for i in range(args.runs):
        order = ("gui", "bare", "raw") if i % 2 == 0 else ("raw", "bare", "gui")
        for which in order:
            if which == "gui":
                gui.append(_gui_run(app, ws, args.prompt))
            elif which == "bare":
                bare.append(_bare_run(llm, args.prompt, args.tokens))
            else:
                raws.append(_raw_generate_rate(llm, args.prompt, args.tokens))
    raw = statistics.median(raws)
    llm.close()

    gui_rate = statistics.median(r[0] for r in gui)
    bare_rate = statistics.median(r[0] for r in bare)
    gui_ttft = statistics.median(r[1] for r in gui)
    bare_ttft = statistics.median(r[1] for r in bare)
    print(f"model={args.model.name} tokens={args.tokens} runs={args.runs} prompt={args.prompt!r}")
    print(f"genlab_tokens={gui[0][2]} bare_tokens={bare[0][2]}")
    print(f"outputs_equal={gui[0][3] == bare[0][3]}")
    print(f"genlab_tok_s={gui_rate:.1f}")
    print(f"bare_tok_s={bare_rate:.1f}")
    print(f"bare_generate_tok_s={raw:.1f}")
    print(f"genlab_ttft_ms={gui_ttft * 1000:.2f}")
    print(f"bare_ttft_ms={bare_ttft * 1000:.2f}")
    print(f"ttft_diff_ms={(gui_ttft - bare_ttft) * 1000:.2f}")
    print(f"text_stream_ratio={gui_rate / bare_rate:.3f}")
    print(f"text_stream_ratio_vs_bare_generate={gui_rate / raw:.3f}")
    runner.shutdown()
    ws.close()
    services.close()
    home.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
