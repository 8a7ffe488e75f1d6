"""Imports every context's models so that the metadata (and Alembic) sees all tables."""

from linli.academy import models as academy_models  # noqa: F401  (wire-up: the leader academy, issue 17)
from linli.accounts import models as accounts_models  # noqa: F401
from linli.aftersales import models as aftersales_models  # noqa: F401  (wire-up: after-sales, issue 5)
from linli.attribution import models as attribution_models  # noqa: F401
from linli.brands import models as brands_models  # noqa: F401
from linli.catalog import models as catalog_models  # noqa: F401
from linli.community import models as community_models  # noqa: F401  (community groups, issue 17)
from linli.coupons import models as coupons_models  # noqa: F401  (wire-up: coupons, issue 17)
from linli.dashboards import models as dashboard_models  # noqa: F401  (wire-up: dashboards' roll-ups, issue 16)
from linli.db import Base
from linli.fulfillment import models as fulfillment_models  # noqa: F401
from linli.leaders import models as leaders_models  # noqa: F401
from linli.ledger import models as ledger_models  # noqa: F401  (wire-up: commission ledger, issue 4)
from linli.live import models as live_models  # noqa: F401
from linli.marketing import models as marketing_models  # noqa: F401  (wire-up: campaign kits, issue 17)
from linli.members import models as members_models  # noqa: F401
from linli.notifications import models as notifications_models  # noqa: F401  (wire-up: in-app inbox, issue 5)
from linli.orders import models as orders_models  # noqa: F401
from linli.outbox import models as outbox_models  # noqa: F401
from linli.payments import models as payments_models  # noqa: F401
from linli.payouts import models as payouts_models  # noqa: F401  (wire-up: withdrawals, issue 4)
from linli.scheduler import models as scheduler_models  # noqa: F401  (wire-up: the scheduler, issue 13)
from linli.web import models as web_models  # noqa: F401  (the pages' form receipts, issue 14)

metadata = Base.metadata
