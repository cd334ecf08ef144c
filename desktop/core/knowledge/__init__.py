"""Document collections for grounded chat: folders of documents, chunked, embedded and searched.

The public API is :class:`~desktop.core.knowledge.store.Knowledge` (``add``,
``collections``, ``index``, ``search``, ``chunks``, ``delete``) and the
:class:`~desktop.core.knowledge.search.Hit` it returns.  Qt-free; it reuses
the history's embedder, vector index and fusion, and nothing outside the
server and the services imports it.
"""
