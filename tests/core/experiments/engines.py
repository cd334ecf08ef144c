"""A real text engine that counts what it does, for the experiment tests and the kill -9 child."""

from __future__ import annotations

import os

from desktop.core.text.engine import TextEngine


class CountingTextEngine(TextEngine):
    """A :class:`TextEngine` counting llama.cpp model constructions and generations.

    With ``calls_file`` each generation appends a line ``<prompt>|<temperature>`` to it
    before it starts, so another process can count the calls of one that was killed.
    """

    made: list["CountingTextEngine"] = []

    def __init__(self, history, calls_file: str = "") -> None:
        super().__init__(history=history)
        self.loads = 0
        self.generations = 0
        self.calls_file = calls_file
        CountingTextEngine.made.append(self)

    def _construct(self, *args, **kwargs):
        self.loads += 1
        return super()._construct(*args, **kwargs)

    def generate(self, request, **kwargs):
        self.generations += 1
        if self.calls_file:
            fd = os.open(self.calls_file, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
            os.write(fd, f"{request.prompt}|{request.sampling.temperature}\n".encode())
            os.close(fd)
        return super().generate(request, **kwargs)
