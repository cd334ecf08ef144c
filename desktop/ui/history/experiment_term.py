"""The ``experiment:NAME`` term of History's search box.

``experiment:NAME`` or ``experiment:"two words"`` anywhere in the box limits
the search to the records of the experiment(s) with that name (or id prefix);
the rest of the text is searched as usual.  The name becomes session ids in
the search job (:func:`desktop.core.experiments.lookup.matching_ids`), since
the history core knows no experiments.
"""

from __future__ import annotations

import re

# experiment:"quoted name" | experiment:'quoted name' | experiment:word; the key in any case.
_TERM = re.compile(r"""(?i)(?<!\S)experiment:(?:"([^"]*)"?|'([^']*)'?|(\S*))""")


def split_experiment_term(text: str) -> tuple[str, str | None]:
    """``(the text without the term, the experiment name)``; the name is None when there is no term.

    An unclosed quote takes the rest of the box, so typing ``experiment:"two w`` is not searched for
    the words ``two w``; with several terms the last one wins."""
    name = None
    for match in _TERM.finditer(text):
        name = next((g for g in match.groups() if g is not None), "").strip()
    if name is None:
        return text, None
    rest = " ".join(_TERM.sub(" ", text).split())
    return rest, name
