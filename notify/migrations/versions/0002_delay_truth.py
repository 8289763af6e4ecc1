"""delay truth: episode rules version, incident and facts; ETA probabilities; incidents

Revision ID: 0002
Revises: 0006
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

import notify.store.types

revision = "0002"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("delay_episodes") as batch:
        batch.add_column(sa.Column("rules_version", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("incident_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("facts", sa.Text(), nullable=True))
    with op.batch_alter_table("eta_predictions") as batch:
        batch.add_column(sa.Column("p_late", sa.Float(), nullable=True))
        batch.add_column(sa.Column("promised_day", sa.String(length=10), nullable=True))
        batch.add_column(sa.Column("basis", sa.String(length=80), nullable=True))
        batch.add_column(sa.Column("history", sa.Integer(), nullable=True))
        batch.add_column(sa.Column("distribution", sa.Text(), nullable=True))
        batch.add_column(sa.Column("rules_version", sa.String(length=40), nullable=True))
    op.create_table(
        "incidents",
        sa.Column("incident_id", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=20), nullable=False),
        sa.Column("cause", sa.String(length=40), nullable=False),
        sa.Column("city", sa.Text(), nullable=True),
        sa.Column("region", sa.String(length=40), nullable=True),
        sa.Column("postal_code", sa.String(length=20), nullable=True),
        sa.Column("country", sa.String(length=3), nullable=True),
        sa.Column("area", sa.String(length=60), nullable=True),
        sa.Column("starts_at", notify.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "last_evidence_at", notify.store.types.UTCDateTime(timezone=True), nullable=False
        ),
        sa.Column("ends_at", notify.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("evidence", sa.Text(), nullable=False),
        sa.Column("parcels", sa.Integer(), nullable=False),
        sa.Column("rules_version", sa.String(length=40), nullable=True),
        sa.Column("updated_at", notify.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("incident_id", name=op.f("pk_incidents")),
    )


def downgrade() -> None:
    op.drop_table("incidents")
    with op.batch_alter_table("eta_predictions") as batch:
        for name in ("rules_version", "distribution", "history", "basis", "promised_day", "p_late"):
            batch.drop_column(name)
    with op.batch_alter_table("delay_episodes") as batch:
        for name in ("facts", "incident_id", "rules_version"):
            batch.drop_column(name)
