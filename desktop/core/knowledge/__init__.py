"""Document collections for grounded chat: folders of documents, chunked, embedded and searched.

The public API is :class:`~desktop.core.knowledge.store.Knowledge` (``add``,
``collections``, ``index``, ``search``, ``chunks``, ``delete``) and the
:class:`~desktop.core.knowledge.search.Hit` it returns.  Qt-free; it reuses
the history's embedder, vector index and fusion, and nothing outside the
server and the services imports it.

Grounded chat builds on it: :mod:`~desktop.core.knowledge.grounding` (``ground``,
``grounded_generate``, ``reground``: the sources of a reply, found before it
starts, packed into the context budget and recorded by id),
:mod:`~desktop.core.knowledge.citations` (the [n] markers of a reply) and
:mod:`~desktop.core.knowledge.budget` (token counts with the loaded model).
"""
