"""order sources: incremental extraction state and history

Revision ID: 0007
Revises: 0003
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import notify.store.types

revision = "0007"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "source_state",
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("mapping", sa.Text(), nullable=False),
        sa.Column("mapping_hash", sa.String(length=64), nullable=False),
        sa.Column("watermark", notify.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column(
            "last_full_refresh_at", notify.store.types.UTCDateTime(timezone=True), nullable=True
        ),
        sa.Column("updated_at", notify.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("source", name=op.f("pk_source_state")),
    )
    op.create_table(
        "source_extractions",
        sa.Column("extraction_id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("source", sa.String(length=100), nullable=False),
        sa.Column("run_id", sa.String(length=250), nullable=True),
        sa.Column("mode", sa.String(length=20), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("since", notify.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("until", notify.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("started_at", notify.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("finished_at", notify.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("counts", sa.Text(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("extraction_id", name=op.f("pk_source_extractions")),
    )
    op.create_index(
        op.f("ix_source_extractions_source"), "source_extractions", ["source"], unique=False
    )
    op.create_table(
        "source_seen_shipments",
        sa.Column("extraction_id", sa.Integer(), nullable=False),
        sa.Column("shipment_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint(
            "extraction_id", "shipment_id", name=op.f("pk_source_seen_shipments")
        ),
    )


def downgrade() -> None:
    op.drop_table("source_seen_shipments")
    op.drop_index(op.f("ix_source_extractions_source"), table_name="source_extractions")
    op.drop_table("source_extractions")
    op.drop_table("source_state")
