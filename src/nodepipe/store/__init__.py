"""The metadata store: one narrow interface over SQLAlchemy Core, SQLite or PostgreSQL."""
