"""Merging two records of one person: patients.merged_into_id, and the merges with the log of every row
each one changed (so that a hospital administrator can undo a wrong merge).

Revision ID: 0019_merges
Revises: 0018_claims
Create Date: 2026-12-06 11:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0019_merges'
down_revision = '0018_claims'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('patient_merges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hospital_id', sa.Integer(), nullable=False),
    sa.Column('kept_id', sa.Integer(), nullable=False),
    sa.Column('merged_id', sa.Integer(), nullable=False),
    sa.Column('merged_by_id', sa.Integer(), nullable=False),
    sa.Column('merged_at', sa.DateTime(), nullable=False),
    sa.Column('undone_by_id', sa.Integer(), nullable=True),
    sa.Column('undone_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['hospital_id'], ['hospitals.id'], name=op.f('fk_patient_merges_hospital_id_hospitals')),
    sa.ForeignKeyConstraint(['kept_id'], ['patients.id'], name=op.f('fk_patient_merges_kept_id_patients')),
    sa.ForeignKeyConstraint(['merged_id'], ['patients.id'], name=op.f('fk_patient_merges_merged_id_patients')),
    sa.ForeignKeyConstraint(['merged_by_id'], ['users.id'], name=op.f('fk_patient_merges_merged_by_id_users')),
    sa.ForeignKeyConstraint(['undone_by_id'], ['users.id'], name=op.f('fk_patient_merges_undone_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_merges'))
    )
    with op.batch_alter_table('patient_merges', schema=None) as batch_op:
        batch_op.create_index('ix_patient_merges_hospital_at', ['hospital_id', 'merged_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_patient_merges_kept_id'), ['kept_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_patient_merges_merged_id'), ['merged_id'], unique=False)

    op.create_table('patient_merge_rows',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('merge_id', sa.Integer(), nullable=False),
    sa.Column('table_name', sa.String(length=64), nullable=False),
    sa.Column('row_id', sa.Integer(), nullable=False),
    sa.Column('column_name', sa.String(length=64), nullable=True),
    sa.Column('old_value', sa.Text(), nullable=True),
    sa.Column('new_value', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['merge_id'], ['patient_merges.id'], name=op.f('fk_patient_merge_rows_merge_id_patient_merges')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_patient_merge_rows'))
    )
    with op.batch_alter_table('patient_merge_rows', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_patient_merge_rows_merge_id'), ['merge_id'], unique=False)

    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('merged_into_id', sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_patients_merged_into_id_patients'), 'patients', ['merged_into_id'], ['id']
        )


def downgrade():
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_patients_merged_into_id_patients'), type_='foreignkey')
        batch_op.drop_column('merged_into_id')

    # Their indexes go with the tables (MariaDB refuses to drop one first: a foreign key uses it).
    op.drop_table('patient_merge_rows')
    op.drop_table('patient_merges')
