"""Claiming a desk-registered account: one-time claim links (only a SHA-256 of the token is kept) sent
by email or SMS, and on the patient the online account that is likely the same person (a merge is due).

Appointments already record who booked them (appointments.booked_by_id, since 0002): the patient
himself online, the receptionist for a booking made at the desk. Nothing changes there.

Revision ID: 0018_claims
Revises: 0017
Create Date: 2026-12-06 11:10:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0018_claims'
down_revision = '0017'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('account_claims',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('hospital_id', sa.Integer(), nullable=False),
    sa.Column('sent_by_id', sa.Integer(), nullable=False),
    sa.Column('channel', sa.String(length=24), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.Column('expires_at', sa.DateTime(), nullable=False),
    sa.Column('used_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_account_claims_user_id_users')),
    sa.ForeignKeyConstraint(['hospital_id'], ['hospitals.id'], name=op.f('fk_account_claims_hospital_id_hospitals')),
    sa.ForeignKeyConstraint(['sent_by_id'], ['users.id'], name=op.f('fk_account_claims_sent_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_claims')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_account_claims_token_hash'))
    )
    with op.batch_alter_table('account_claims', schema=None) as batch_op:
        batch_op.create_index('ix_account_claims_user_created', ['user_id', 'created_at'], unique=False)

    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('duplicate_user_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_patients_duplicate_user_id_users'), 'users', ['duplicate_user_id'], ['id']
        )


def downgrade():
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_patients_duplicate_user_id_users'), type_='foreignkey')
        batch_op.drop_column('duplicate_user_id')

    op.drop_table('account_claims')  # its index goes with it (MariaDB refuses to drop it first: a foreign key uses it)
