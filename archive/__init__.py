"""Sealed electronic archives (BagIt) and their offline verifier.

Not built yet: this package is reserved by the layout in DESIGN.md §3.
"""
