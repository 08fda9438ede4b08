"""Nurse triage: vital signs of a visit (blood pressure, pulse, respiratory rate, SpO2, temperature,
weight, height), the chief complaint and a 5-level triage level, taken by a nurse before the doctor.

Revision ID: 0016_triage
Revises: 0015
Create Date: 2026-12-06 10:55:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0016_triage'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('vital_signs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('hospital_id', sa.Integer(), nullable=False),
    sa.Column('recorded_by_id', sa.Integer(), nullable=False),
    sa.Column('taken_at', sa.DateTime(), nullable=False),
    sa.Column('bp_systolic', sa.Integer(), nullable=True),
    sa.Column('bp_diastolic', sa.Integer(), nullable=True),
    sa.Column('pulse', sa.Integer(), nullable=True),
    sa.Column('respiratory_rate', sa.Integer(), nullable=True),
    sa.Column('spo2', sa.Integer(), nullable=True),
    sa.Column('temperature_c', sa.Numeric(precision=4, scale=1), nullable=True),
    sa.Column('weight_kg', sa.Numeric(precision=5, scale=1), nullable=True),
    sa.Column('height_cm', sa.Numeric(precision=5, scale=1), nullable=True),
    sa.Column('chief_complaint', sa.String(length=500), nullable=False),
    sa.Column('triage_level', sa.SmallInteger(), nullable=True),
    sa.CheckConstraint('triage_level BETWEEN 1 AND 5', name=op.f('ck_vital_signs_triage_level_range')),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointments.id'], name=op.f('fk_vital_signs_appointment_id_appointments')),
    sa.ForeignKeyConstraint(['hospital_id'], ['hospitals.id'], name=op.f('fk_vital_signs_hospital_id_hospitals')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_vital_signs_patient_id_patients')),
    sa.ForeignKeyConstraint(['recorded_by_id'], ['users.id'], name=op.f('fk_vital_signs_recorded_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_vital_signs'))
    )
    with op.batch_alter_table('vital_signs', schema=None) as batch_op:
        batch_op.create_index('ix_vital_signs_appointment_taken', ['appointment_id', 'taken_at'], unique=False)
        batch_op.create_index('ix_vital_signs_patient_taken', ['patient_id', 'taken_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_vital_signs_hospital_id'), ['hospital_id'], unique=False)


def downgrade():
    op.drop_table('vital_signs')
