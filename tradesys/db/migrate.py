"""Running the Alembic migrations: the only way the schema is made (``tradesys db upgrade``)."""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from alembic import command
from alembic.config import Config

from tradesys.db.database import prepare_sqlite_file

#: The package's own copy: the migrations ship in the wheel, so an installed tradesys finds them
#: wherever it runs (never relative to a source checkout or the working directory).
PACKAGE = Path(str(files("tradesys")))


def alembic_config(url: str) -> Config:
    config = Config(str(PACKAGE / "alembic.ini"))
    config.set_main_option("script_location", str(PACKAGE / "migrations"))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def upgrade(url: str, revision: str = "head") -> None:
    """Bring the database at ``url`` up to ``revision``. Synchronous: call it outside a loop."""
    prepare_sqlite_file(url)  # 0600 in 0700 folders, before SQLite makes it 0644
    command.upgrade(alembic_config(url), revision)
