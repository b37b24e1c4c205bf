"""Database access: engine, sessions, shared column types and the declarative base."""
