"""The HTTP API under ``/api/v1``: parse, authorize, call the domain. Nothing else."""
