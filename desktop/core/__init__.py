"""Qt-free library: models, engines, history, settings and jobs.

Nothing under this package may import PySide6/shiboken6 or ``desktop.ui``;
an import-linter contract in CI enforces it.  Heavy libraries (torch,
diffusers, transformers, sentence_transformers, llama_cpp) are imported
inside the functions that need them, never at module import time.
"""
