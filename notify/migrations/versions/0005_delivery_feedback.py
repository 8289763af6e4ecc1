"""delivery feedback: suppressions, provider webhooks and events, message status; ledger retry columns

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

import notify.store.types

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "message_status",
        sa.Column("send_key", sa.String(length=64), nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("provider_message_id", sa.Text(), nullable=True),
        sa.Column("status", sa.String(length=30), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.Column("error_code", sa.String(length=20), nullable=True),
        sa.Column("occurred_at", notify.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", notify.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("send_key", name=op.f("pk_message_status")),
    )
    op.create_table(
        "provider_webhooks",
        sa.Column("webhook_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("endpoint", sa.String(length=40), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("received_at", notify.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "last_received_at", notify.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("times_received", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("webhook_id", name=op.f("pk_provider_webhooks")),
        sa.UniqueConstraint(
            "provider",
            "endpoint",
            "sha256",
            "status",
            name=op.f("uq_provider_webhooks_provider_endpoint_sha256_status"),
        ),
    )
    op.create_table(
        "suppressions",
        sa.Column("channel", sa.String(length=20), nullable=False),
        sa.Column("recipient_hash", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=30), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("changed_at", notify.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("recorded_at", notify.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("channel", "recipient_hash", "kind", name=op.f("pk_suppressions")),
    )
    op.create_table(
        "provider_events",
        sa.Column("event_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("provider", sa.String(length=20), nullable=False),
        sa.Column("dedupe_key", sa.String(length=64), nullable=False),
        sa.Column("provider_event_id", sa.String(length=120), nullable=True),
        sa.Column("message_id", sa.String(length=120), nullable=True),
        sa.Column("send_key", sa.String(length=64), nullable=True),
        sa.Column("event", sa.String(length=40), nullable=False),
        sa.Column("error_code", sa.String(length=20), nullable=True),
        sa.Column("recipient_hash", sa.String(length=64), nullable=True),
        sa.Column("occurred_at", notify.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("received_at", notify.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("webhook_id", sa.Integer(), nullable=True),
        sa.Column("effect", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["webhook_id"],
            ["provider_webhooks.webhook_id"],
            name=op.f("fk_provider_events_webhook_id_provider_webhooks"),
        ),
        sa.PrimaryKeyConstraint("event_id", name=op.f("pk_provider_events")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_provider_events_dedupe_key")),
        sa.UniqueConstraint(
            "provider",
            "provider_event_id",
            name=op.f("uq_provider_events_provider_provider_event_id"),
        ),
    )
    with op.batch_alter_table("provider_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_provider_events_send_key"), ["send_key"], unique=False)

    with op.batch_alter_table("send_ledger", schema=None) as batch_op:
        batch_op.add_column(sa.Column("worker", sa.String(length=200), nullable=True))
        batch_op.add_column(
            sa.Column("not_before", notify.store.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("retries", sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("send_ledger", schema=None) as batch_op:
        batch_op.drop_column("retries")
        batch_op.drop_column("not_before")
        batch_op.drop_column("worker")

    with op.batch_alter_table("provider_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_provider_events_send_key"))

    op.drop_table("provider_events")
    op.drop_table("suppressions")
    op.drop_table("provider_webhooks")
    op.drop_table("message_status")
