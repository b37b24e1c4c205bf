"""Contracts: templates, PDF rendering and PAdES signing.

Not built yet: this package is reserved by the layout in DESIGN.md §3.
"""
