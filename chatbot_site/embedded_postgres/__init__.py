"""A PostgreSQL backend that starts the embedded pgserver (Postgres + pgvector) on first use."""
