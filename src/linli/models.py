"""Imports every context's models so that the metadata (and Alembic) sees all tables."""

from linli.accounts import models as accounts_models  # noqa: F401
from linli.attribution import models as attribution_models  # noqa: F401
from linli.brands import models as brands_models  # noqa: F401
from linli.db import Base
from linli.leaders import models as leaders_models  # noqa: F401
from linli.members import models as members_models  # noqa: F401

metadata = Base.metadata
