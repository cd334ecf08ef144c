"""The ``genlab`` command.

``genlab`` with no subcommand launches the GUI; ``genlab doctor|text|image|upscale|
models|history|serve|experiment|arena|knowledge ...`` run headless.  Only the module of the subcommand being
run is imported, so launching the GUI imports none of them.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

from desktop import __version__

COMMANDS = {
    "doctor": "desktop.commands.doctor",
    "text": "desktop.commands.text",
    "image": "desktop.commands.image",
    "upscale": "desktop.commands.upscale",
    "models": "desktop.commands.models",
    "history": "desktop.commands.history",
    "serve": "desktop.commands.serve",
    "experiment": "desktop.commands.experiment",
    "arena": "desktop.commands.arena",
    "knowledge": "desktop.commands.knowledge",
    "dataset": "desktop.commands.dataset",
}


def _available_commands() -> dict[str, str]:
    found = {}
    for name, module in COMMANDS.items():
        if importlib.util.find_spec(module) is not None:
            found[name] = module
    return found


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="genlab",
        description="GenLab: local text and image generation with one searchable history. "
                    "Run without a command to open the app.",
    )
    parser.add_argument("--version", action="version", version=f"GenLab {__version__}")
    parser.add_argument("--quit-after-show", action="store_true",
                        help="open the window, print startup_ms=<N> at first paint, and exit")
    parser.add_argument("--self-test", action="store_true",
                        help="run the headless end-to-end self-test and exit")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    commands = _available_commands()
    for name, module in commands.items():
        if only is not None and name != only:
            continue
        importlib.import_module(module).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    if getattr(sys, "frozen", False):
        # A frozen app re-runs its own executable to test-load new GGUF files
        # in a child process; serve that before anything else.
        from desktop.core.text.probe import run_if_probe_child

        run_if_probe_child()
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    if command is None and not any(a in ("-h", "--help", "--version") for a in argv):
        if "--self-test" in argv:
            from desktop.selftest import run_self_test

            return run_self_test()
        from desktop.app import main as gui_main

        return gui_main(argv)

    from desktop.core.logging_setup import ensure_std_streams, quiet_progress_bars

    ensure_std_streams()
    quiet_progress_bars()
    parser = build_parser(only=command if command in COMMANDS else None)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 0
    from desktop.core import paths
    from desktop.core.errors import DataRootError, GenLabError
    from desktop.core.logging_setup import setup_logging

    try:
        paths.ensure_data_root()  # user-only, like the GUI, before the log or anything else is written
    except DataRootError:
        pass  # a command that needs the data root says what is wrong; doctor reports it
    setup_logging(console=False)
    try:
        return int(args.func(args) or 0)
    except GenLabError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
