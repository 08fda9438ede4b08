"""Senior lab technicians: staff.senior (a senior technician verifies results others entered).

Revision ID: 0021_senior
Revises: 0020_lab
Create Date: 2026-12-06 16:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0021_senior'
down_revision = '0020_lab'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('senior', sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade():
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('senior')
