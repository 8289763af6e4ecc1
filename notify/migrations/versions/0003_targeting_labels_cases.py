"""targeting: shipment labels, escalation cases, order need-by date and value

Revision ID: 0003
Revises: 0001
Create Date: 2026-11-23
"""

import sqlalchemy as sa
from alembic import op

import notify.store.types

revision = "0003"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("orders") as batch:
        batch.add_column(sa.Column("need_by", sa.String(length=40), nullable=True))
        batch.add_column(sa.Column("order_value", sa.Float(), nullable=True))
    op.create_table(
        "shipment_labels",
        sa.Column("shipment_id", sa.String(length=64), nullable=False),
        sa.Column("carrier", sa.String(length=30), nullable=False),
        sa.Column("tracking_number", sa.String(length=64), nullable=False),
        sa.Column("first_seen_at", notify.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint(
            "shipment_id", "carrier", "tracking_number", name=op.f("pk_shipment_labels")
        ),
    )
    op.create_index(
        "ix_shipment_labels_tracking",
        "shipment_labels",
        ["carrier", "tracking_number"],
        unique=False,
    )
    op.create_table(
        "cases",
        sa.Column("case_id", sa.String(length=64), nullable=False),
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("customer_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("priority", sa.String(length=20), nullable=False),
        sa.Column("triggers", sa.Text(), nullable=False),
        sa.Column("suggested_resolution", sa.Text(), nullable=False),
        sa.Column("notice_id", sa.String(length=64), nullable=True),
        sa.Column("opened_run_id", sa.String(length=250), nullable=False),
        sa.Column("opened_at", notify.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", notify.store.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("context", sa.Text(), nullable=True),
        sa.Column("helpdesk", sa.String(length=40), nullable=True),
        sa.Column("external_id", sa.String(length=100), nullable=True),
        sa.Column("exported_at", notify.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("export_error", sa.Text(), nullable=True),
        sa.Column("closed_at", notify.store.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("close_reason", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("case_id", name=op.f("pk_cases")),
    )
    op.create_index(op.f("ix_cases_order_id"), "cases", ["order_id"], unique=False)
    op.create_index(op.f("ix_cases_customer_id"), "cases", ["customer_id"], unique=False)
    op.create_index("ix_decisions_notice_id", "decisions", ["notice_id"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_decisions_notice_id", table_name="decisions")
    op.drop_index(op.f("ix_cases_customer_id"), table_name="cases")
    op.drop_index(op.f("ix_cases_order_id"), table_name="cases")
    op.drop_table("cases")
    op.drop_index("ix_shipment_labels_tracking", table_name="shipment_labels")
    op.drop_table("shipment_labels")
    with op.batch_alter_table("orders") as batch:
        batch.drop_column("order_value")
        batch.drop_column("need_by")
