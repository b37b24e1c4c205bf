"""Evaluation (评标): the expert pool, the evaluation committee and its auditable draw.

Later increments of issue 11 (scores, the report, publicity, award) belong here too: they read
the panel through :mod:`tradesys.evaluation.panel` and append events to the same ``panel``
aggregate or to their own. docs/evaluation.md describes the whole.
"""
