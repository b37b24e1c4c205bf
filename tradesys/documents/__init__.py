"""Platform documents: the one renderer (templates as data files, HTML and PDF), and the
documents the platform itself issues and signs (award and result notices).

It sits in the core, beside the event log: it imports only ``tradesys.formatting``,
``tradesys.signatures``, ``tradesys.events.canonical`` and ``tradesys.identity.credit_code``,
so every domain step (opening, evaluation, award, contracts) can render through it.
"""
