"""Arena: blind head-to-head comparisons of two contenders on the same prompt, and a leaderboard.

A contender (:mod:`.contenders`) is a model, or a preset of one (text
sampling values; image scheduler or steps).  :mod:`.pairing` puts two
contenders' answers to one prompt side by side in a seeded random left/right
order, names hidden until the vote.  :mod:`.runner` generates the answers
through the engines it is given (the experiments' engine adapters), one
engine job at a time, both with the same seed; every answer is an ordinary
history record.  A vote (:mod:`.votes`) is a row in the LanceDB table
``arena_votes_v1`` beside the history: the contenders, the prompt, both
record ids and the verdict.  :mod:`.leaderboard` fits Bradley–Terry
strengths with bootstrap confidence intervals per kind; :mod:`.topics`
restricts the votes to prompts matching a history search and summarises the
star ratings per model, kept apart from the pairwise scores.  The prompts
come from a file, an experiment's cells or a history search (:mod:`.prompts`).

:func:`~desktop.core.arena.votes.iter_preferences` is the public reading
of the votes for other domains (preference datasets).

Nothing here imports Qt; importing the package is cheap.
"""

from __future__ import annotations
