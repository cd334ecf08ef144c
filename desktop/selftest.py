"""``genlab --self-test``: prove a build works end to end, headless and offline.

In a temporary data root it writes a tiny GGUF and a tiny diffusers pipeline,
generates text and a 1-step image through the real engines, saves both to the
history, finds them again by keyword and by meaning, exports the history and
imports it into a fresh one, renders a Markdown reply with a highlighted code
block, downloads a file over HTTP from 127.0.0.1 through the real transfer, and
starts the OpenAI-compatible server on a free loopback port and asks it.
One ``PASS``/``FAIL`` line per check; exit code
0 only if every check passes.  Used on the frozen bundle by
``python -m bench package`` and the packaging test.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
import traceback
from pathlib import Path
from typing import Any, Callable

TEXT_PROMPT = "Write a short poem about a lighthouse keeper on a stormy night at sea"
IMAGE_PROMPT = "a watercolor painting of a red fox sleeping in a snowy forest"
TEXT_MEANING_QUERY = "verses about a beacon tower guardian during a storm on the ocean"
IMAGE_MEANING_QUERY = "wild animal resting among winter trees"


class SelfTest:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.ctx: dict[str, Any] = {}
        self.results: list[tuple[str, bool, str]] = []

    def check(self, name: str, fn: Callable[[], str], needs: tuple[str, ...] = ()) -> None:
        missing = [n for n in needs if not any(r[0] == n and r[1] for r in self.results)]
        if missing:
            self._report(name, False, f"not run: needs {', '.join(missing)}")
            return
        start = time.perf_counter()
        try:
            detail = fn()
            ok = True
        except Exception as exc:  # each check reports; one failure does not stop the rest
            detail = f"{type(exc).__name__}: {exc}"
            ok = False
            if os.environ.get("GENLAB_SELFTEST_TRACEBACK"):
                traceback.print_exc()
        self._report(name, ok, f"{detail} ({time.perf_counter() - start:.1f} s)")

    def _report(self, name: str, ok: bool, detail: str) -> None:
        self.results.append((name, ok, detail))
        print(f"{'PASS' if ok else 'FAIL'} {name}: {detail}", flush=True)

    # --- the checks -------------------------------------------------------------
    def history(self) -> str:
        from desktop.core.history import open_history

        store = open_history(start_embedder=False)
        self.ctx["store"] = store
        return f"opened at {store.root}"

    def text(self) -> str:
        from desktop.core.text.engine import LoadOptions, TextEngine
        from desktop.core.text.params import SamplingParams
        from desktop.core.text.prompt import TextRequest
        from desktop.core.tiny_models import write_tiny_gguf

        gguf = write_tiny_gguf(self.root / "models" / "selftest-tiny.gguf")
        engine = TextEngine(history=self.ctx["store"])
        self.ctx["text_engine"] = engine
        engine.load(gguf, LoadOptions(n_ctx=256))
        result = engine.generate(TextRequest(prompt=TEXT_PROMPT, sampling=SamplingParams(
            temperature=0.0, max_tokens=12, seed=1)))
        if result.completion_tokens <= 0:
            raise AssertionError("no tokens were generated")
        self.ctx["text_id"] = result.record_id or (result.record.id if result.record else "")
        return f"{result.completion_tokens} tokens at {result.tokens_per_s:.0f} tok/s ({result.mode} mode)"

    def image(self) -> str:
        from desktop.core.image.engine import ImageEngine, ImageRequest
        from desktop.core.image.params import ImageParams
        from desktop.core.tiny_models import build_tiny_sd_pipeline

        pipeline = build_tiny_sd_pipeline(self.root / "models" / "selftest-tiny-sd")
        engine = ImageEngine(history=self.ctx["store"])
        self.ctx["image_engine"] = engine
        batch = engine.generate(ImageRequest(model=str(pipeline), params=ImageParams(
            prompt=IMAGE_PROMPT, steps=1, guidance=0.0, width=64, height=64, seed=7), previews=False))
        image = batch.images[0]
        if not image.path.is_file():
            raise AssertionError(f"the image {image.path} was not saved")
        self.ctx["image_id"] = image.record.id
        return f"{image.path.name}, seed {image.seed}"

    def saved(self) -> str:
        store = self.ctx["store"]
        store.flush(timeout=60)
        ids = {self.ctx["text_id"], self.ctx["image_id"]}
        found = store.has_ids(sorted(ids))
        if found != ids:
            raise AssertionError(f"saved {sorted(found)}, expected {sorted(ids)}")
        return f"{store.count()} records on disk"

    def _search(self, text: str, mode: str) -> list[str]:
        from desktop.core.history import SearchQuery

        result = self.ctx["store"].search(SearchQuery(text=text, mode=mode, limit=5))
        return [hit.record.id for hit in result.hits]

    def keyword(self) -> str:
        got = self._search("lighthouse", "keyword")
        if not got or got[0] != self.ctx["text_id"]:
            raise AssertionError(f"keyword 'lighthouse' returned {got}")
        got = self._search("fox", "keyword")
        if not got or got[0] != self.ctx["image_id"]:
            raise AssertionError(f"keyword 'fox' returned {got}")
        return "both records found by a word of their prompt"

    def meaning(self) -> str:
        store = self.ctx["store"]
        store.embedder.load()
        store.backfill(cancel=__import__("desktop.core.jobs", fromlist=["CancelToken"]).CancelToken())
        got = self._search(TEXT_MEANING_QUERY, "semantic")
        if not got or got[0] != self.ctx["text_id"]:
            raise AssertionError(f"'{TEXT_MEANING_QUERY}' returned {got}")
        got = self._search(IMAGE_MEANING_QUERY, "semantic")
        if not got or got[0] != self.ctx["image_id"]:
            raise AssertionError(f"'{IMAGE_MEANING_QUERY}' returned {got}")
        return "both records found by a paraphrase with no shared words"

    def export_import(self) -> str:
        from desktop.core.history import HistoryStore
        from desktop.core.history.export import export_history
        from desktop.core.history.imports import import_history

        store = self.ctx["store"]
        target = self.root / "export" / "history.zip"
        target.parent.mkdir(parents=True, exist_ok=True)
        exported = export_history(store, target, fmt="jsonl", images=True)
        fresh = HistoryStore(self.root / "reimported")
        self.ctx["fresh"] = fresh
        imported = import_history(fresh, exported.path)
        fresh.flush(timeout=60)
        original = {r.id: r for r in store.iter_records()}
        again = {r.id: r for r in fresh.iter_records()}
        if set(again) != set(original):
            raise AssertionError(f"re-imported {sorted(again)}, expected {sorted(original)}")
        for rid, rec in original.items():
            if (again[rid].prompt, again[rid].output_text) != (rec.prompt, rec.output_text):
                raise AssertionError(f"record {rid} changed on the round trip")
        return f"{exported.records} records and {exported.images} images exported, {imported.imported} imported"

    def chat_rendering(self) -> str:
        from desktop.core.text.markdown import CodeBlock, render_blocks

        reply = ("Steps:\n\n1. boil water\n2. add tea\n\n```python\ndef brew(minutes):\n"
                 "    return minutes * 60\n```\n\n<b>not markup</b>")
        blocks = render_blocks(reply)
        code = [b for b in blocks if isinstance(b, CodeBlock)]
        if len(code) != 1 or code[0].language != "python":
            raise AssertionError(f"expected one python code block, got {blocks}")
        if "<span" not in code[0].html or "def" not in code[0].html:
            raise AssertionError("the code block was not highlighted (Pygments lexers missing?)")
        prose = "".join(getattr(b, "html", "") for b in blocks if not isinstance(b, CodeBlock))
        if "<ol" not in prose or "&lt;b&gt;" not in prose:
            raise AssertionError("the list was not rendered or raw HTML was not escaped")
        return f"{len(blocks)} blocks, python highlighted, raw HTML escaped"

    def download(self) -> str:
        import hashlib
        import http.server
        import threading

        from desktop.core.hub.transfer import HashPipe, RetryPolicy, TransferStats, transfer
        from desktop.core.jobs import CancelToken

        served = self.root / "served"
        served.mkdir()
        payload = os.urandom(3 * 1024 * 1024 + 17)
        (served / "blob.bin").write_bytes(payload)

        class Quiet(http.server.SimpleHTTPRequestHandler):
            def __init__(self, *args: Any, **kwargs: Any) -> None:
                super().__init__(*args, directory=str(served), **kwargs)

            def log_message(self, *args: Any) -> None:  # a windowed app has no stderr
                pass

        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            url = f"http://127.0.0.1:{server.server_address[1]}/blob.bin"
            part = self.root / "blob.bin.part"
            hasher = HashPipe()
            stats = TransferStats()
            transfer(url, part, len(payload), hasher, cancel=CancelToken(), policy=RetryPolicy(max_failures=2),
                     auth_header=lambda _url: {}, hub_host="127.0.0.1", refresh_url=lambda: url,
                     on_bytes=lambda _done, _delta: None, stats=stats)
            sha256, _sha1 = hasher.finish()
        finally:
            server.shutdown()
            server.server_close()
        if sha256 != hashlib.sha256(payload).hexdigest() or part.read_bytes() != payload:
            raise AssertionError("the downloaded bytes differ from the served file")
        return f"{len(payload)} bytes over HTTP from 127.0.0.1, sha256 verified"

    def api_server(self) -> str:
        import httpx2

        from desktop.core.records import NullSink
        from desktop.core.server.config import ServerConfig
        from desktop.core.server.wiring import headless_server
        from desktop.core.services import Services

        services = Services()
        services.set_history(NullSink())
        server = headless_server(services, ServerConfig(port=0)).start()
        try:
            with httpx2.Client(base_url=server.url, timeout=30) as client:
                models = client.get("models")  # server.url ends in /v1
                bad = client.post("chat/completions", content=b"{not json", headers={
                    "Content-Type": "application/json"})
        finally:
            server.stop()
            services.close()
        if models.status_code != 200 or models.json().get("object") != "list":
            raise AssertionError(f"/v1/models answered {models.status_code}: {models.text[:200]}")
        if bad.status_code != 400 or "error" not in bad.json():
            raise AssertionError(f"malformed JSON answered {bad.status_code}: {bad.text[:200]}")
        return f"/v1/models listed {len(models.json().get('data', []))} models; malformed JSON is a 400"

    def close(self) -> None:
        for key in ("text_engine", "image_engine", "fresh", "store"):
            obj = self.ctx.get(key)
            if obj is not None:
                try:
                    obj.close()
                except Exception:
                    pass


def run_self_test() -> int:
    from desktop.core.logging_setup import ensure_std_streams, quiet_progress_bars

    ensure_std_streams()
    quiet_progress_bars()
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    root = Path(tempfile.mkdtemp(prefix="genlab-selftest-"))
    os.environ["GENLAB_HOME"] = str(root / "home")
    os.environ.pop("GENLAB_MODELS_DIR", None)
    from desktop.core.logging_setup import setup_logging

    setup_logging()
    test = SelfTest(root)
    try:
        test.check("history", test.history)
        test.check("text", test.text, needs=("history",))
        test.check("image", test.image, needs=("history",))
        test.check("saved", test.saved, needs=("text", "image"))
        test.check("keyword search", test.keyword, needs=("saved",))
        test.check("semantic search", test.meaning, needs=("saved",))
        test.check("export and import", test.export_import, needs=("saved",))
        test.check("chat rendering", test.chat_rendering)
        test.check("download", test.download)
        test.check("api server", test.api_server)
    finally:
        test.close()
        shutil.rmtree(root, ignore_errors=True)
    passed = sum(1 for r in test.results if r[1])
    failed = len(test.results) - passed
    print(f"self-test: {passed} passed, {failed} failed", flush=True)
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(run_self_test())
