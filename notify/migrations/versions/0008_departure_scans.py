"""departure scans: tracking events say whether the parcel left the scan's place

Revision ID: 0008
Revises: 0002
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("tracking_events") as batch:
        batch.add_column(
            sa.Column("departed", sa.Boolean(), server_default=sa.false(), nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("tracking_events") as batch:
        batch.drop_column("departed")
