"""Endpoint modules of the API, one per concept."""
