"""Reports: saved report parameters per owner (and hospital).

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 19:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('saved_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner_id', sa.Integer(), nullable=False),
    sa.Column('hospital_id', sa.Integer(), nullable=True),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('params', sa.JSON(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['hospital_id'], ['hospitals.id'], name=op.f('fk_saved_reports_hospital_id_hospitals')),
    sa.ForeignKeyConstraint(['owner_id'], ['users.id'], name=op.f('fk_saved_reports_owner_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_saved_reports'))
    )
    with op.batch_alter_table('saved_reports', schema=None) as batch_op:
        batch_op.create_index('ix_saved_reports_owner_hospital', ['owner_id', 'hospital_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_saved_reports_hospital_id'), ['hospital_id'], unique=False)


def downgrade():
    op.drop_table('saved_reports')
