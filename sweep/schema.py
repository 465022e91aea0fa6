"""Every area's tables in one metadata: the catalogue Alembic compares with and the scope rule reads.

It imports the areas' models only (never their services), at call time, so that any layer may
ask for a table by name without importing the area above it that defines it.
"""

from __future__ import annotations

from functools import cache

from sqlalchemy import MetaData, Table

from sweep.db import Base


def load_all_models() -> MetaData:
    """Import every area's tables so that the metadata is whole (Alembic, tests)."""
    from sweep.auth import models as _auth  # noqa: F401
    from sweep.coverage import models as _coverage  # noqa: F401
    from sweep.field import models as _field  # noqa: F401
    from sweep.inspect import models as _inspect  # noqa: F401
    from sweep.keygroups import models as _keygroups  # noqa: F401
    from sweep.lab import models as _lab  # noqa: F401
    from sweep.plan import models as _plan  # noqa: F401
    from sweep.registry import models as _registry  # noqa: F401

    return Base.metadata


@cache
def _tables() -> dict[str, Table]:
    return dict(load_all_models().tables)


def schema_table(name: str) -> Table:
    """A table of the schema by its name (``people``, ``plan_sites``, …)."""
    return _tables()[name]
