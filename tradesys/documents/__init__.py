"""Platform documents: the one renderer (templates as data files, HTML and PDF), and the
documents the platform itself issues and signs (award and result notices).

It sits in the core, beside the event log: it imports only core modules (``formatting``,
``signatures``, ``events.canonical``, ``identity.credit_code``, ``strict``, ``clock``), never
the domain, so every domain step (opening, evaluation, award, contracts) can render through it.
docs/documents.md describes it.
"""
