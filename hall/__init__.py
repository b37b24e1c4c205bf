"""The online bid-opening hall (网上开标大厅): WebSocket rooms built from the event log.

Not built yet: this package is reserved by the layout in DESIGN.md §3 (the hall issue).
"""
