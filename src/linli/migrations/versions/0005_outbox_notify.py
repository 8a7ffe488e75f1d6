"""the outbox tells LISTENing processes which streams got events, at commit (PostgreSQL trigger)

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01 17:30:00
"""

from __future__ import annotations

from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

# As linli.outbox.models.NOTIFY_FUNCTION / NOTIFY_TRIGGER on the day of this migration.
NOTIFY_FUNCTION = """
CREATE OR REPLACE FUNCTION linli_outbox_notify() RETURNS trigger LANGUAGE plpgsql AS $body$
BEGIN
    PERFORM pg_notify('linli_room', CASE WHEN octet_length(payload) <= 1000 THEN payload ELSE stream END)
    FROM (
        SELECT stream, stream || ' ' || string_agg(DISTINCT topic, ',' ORDER BY topic) AS payload
        FROM new_rows WHERE stream IS NOT NULL GROUP BY stream
    ) AS streams
    WHERE octet_length(stream) <= 1000;
    RETURN NULL;
END
$body$
"""
NOTIFY_TRIGGER = """
CREATE TRIGGER outbox_events_notify AFTER INSERT ON outbox_events
REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION linli_outbox_notify()
"""


def upgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return  # SQLite: the room's tails poll (one writer, one machine)
    op.execute(NOTIFY_FUNCTION)
    op.execute(NOTIFY_TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS outbox_events_notify ON outbox_events")
    op.execute("DROP FUNCTION IF EXISTS linli_outbox_notify()")
