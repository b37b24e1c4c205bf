"""The whole schema: imports every model module so that ``Base.metadata`` knows all tables.

It sits beside the composition root, not in ``tradesys.db``: knowing every table means knowing
every layer, and the core must not import the layers above it. Alembic and the tests use it.
"""

from archive import models as _archive  # noqa: F401
from contracts import models as _contracts  # noqa: F401
from tradesys.api import idempotency as _idempotency  # noqa: F401
from tradesys.award import models as _award  # noqa: F401
from tradesys.bids import models as _bids  # noqa: F401
from tradesys.db.base import Base
from tradesys.evaluation import models as _evaluation  # noqa: F401
from tradesys.events import models as _events  # noqa: F401
from tradesys.identity import models as _identity  # noqa: F401
from tradesys.opening import models as _opening  # noqa: F401
from tradesys.procurement import models as _procurement  # noqa: F401

metadata = Base.metadata
