"""What GenLab sets before the Hugging Face libraries load a model: nothing goes to the network.

``HF_HUB_OFFLINE`` / ``TRANSFORMERS_OFFLINE`` keep huggingface_hub and transformers on local
files.  ``USE_HUB_KERNELS=NO``: transformers >= 5.25 kernelizes models with compiled kernels it
fetches from the Hub by default (the ``kernels`` package); GenLab never runs downloaded code,
and the frozen bundle leaves that package out (without this, every ``from_pretrained`` there
fails with "Kernels are not available").  Downloads the user starts go through
:mod:`desktop.core.hub`, which lifts the offline flag for its own calls only.
"""

from __future__ import annotations

import os


def hub_libraries_offline() -> None:
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["TRANSFORMERS_OFFLINE"] = "1"
    os.environ["USE_HUB_KERNELS"] = "NO"
    os.environ.setdefault("HF_HUB_DISABLE_TELEMETRY", "1")
