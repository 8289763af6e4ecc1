"""indexes for finding earlier notices about the same parcels (second delays)

Compose looks up, for each notice, the last notice sent about the same (order, parcel):
notice_parcels by (order_id, shipment_id), then decisions by notice_id.

Revision ID: 0004
Revises: 0007
Create Date: 2026-11-23
"""

from alembic import op

revision = "0004"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_notice_parcels_order_id_shipment_id",
        "notice_parcels",
        ["order_id", "shipment_id"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_notice_parcels_order_id_shipment_id", table_name="notice_parcels")
