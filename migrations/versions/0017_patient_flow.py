"""Patient flow: a queue entry per visit of the day (walk-in or checked in) with its priority, its number
for the day (queue_counters: one row per hospital and day), its flow-board state with the time each
state began, and a version for optimistic concurrency; one entry per appointment.

Revision ID: 0017
Revises: 0016_triage
Create Date: 2026-12-06 10:41:04.451480

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0017'
down_revision = '0016_triage'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('queue_counters',
    sa.Column('hospital_id', sa.Integer(), nullable=False),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('last_number', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['hospital_id'], ['hospitals.id'], name=op.f('fk_queue_counters_hospital_id_hospitals')),
    sa.PrimaryKeyConstraint('hospital_id', 'day', name=op.f('pk_queue_counters'))
    )
    op.create_table('queue_entries',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('appointment_id', sa.Integer(), nullable=False),
    sa.Column('hospital_id', sa.Integer(), nullable=False),
    sa.Column('doctor_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('department_id', sa.Integer(), nullable=True),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('number', sa.Integer(), nullable=False),
    sa.Column('priority', sa.Enum('normal', 'urgent', 'emergency', name='queuepriority', native_enum=False, length=24), nullable=False),
    sa.Column('state', sa.Enum('waiting', 'triage', 'ready', 'consultation', 'done', 'left', name='flowstate', native_enum=False, length=24), nullable=False),
    sa.Column('walk_in', sa.Boolean(), nullable=False),
    sa.Column('queued_at', sa.DateTime(), nullable=False),
    sa.Column('triage_at', sa.DateTime(), nullable=True),
    sa.Column('ready_at', sa.DateTime(), nullable=True),
    sa.Column('consultation_at', sa.DateTime(), nullable=True),
    sa.Column('finished_at', sa.DateTime(), nullable=True),
    sa.Column('updated_at', sa.DateTime(), nullable=False),
    sa.Column('queued_by_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['appointment_id'], ['appointments.id'], name=op.f('fk_queue_entries_appointment_id_appointments')),
    sa.ForeignKeyConstraint(['department_id'], ['departments.id'], name=op.f('fk_queue_entries_department_id_departments')),
    sa.ForeignKeyConstraint(['doctor_id'], ['doctors.id'], name=op.f('fk_queue_entries_doctor_id_doctors')),
    sa.ForeignKeyConstraint(['hospital_id'], ['hospitals.id'], name=op.f('fk_queue_entries_hospital_id_hospitals')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_queue_entries_patient_id_patients')),
    sa.ForeignKeyConstraint(['queued_by_id'], ['users.id'], name=op.f('fk_queue_entries_queued_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_queue_entries')),
    sa.UniqueConstraint('appointment_id', name='uq_queue_entries_appointment'),
    sa.UniqueConstraint('hospital_id', 'day', 'number', name='uq_queue_entries_hospital_day_number')
    )
    with op.batch_alter_table('queue_entries', schema=None) as batch_op:
        batch_op.create_index('ix_queue_entries_doctor_day', ['doctor_id', 'day'], unique=False)
        batch_op.create_index('ix_queue_entries_hospital_day', ['hospital_id', 'day'], unique=False)
        batch_op.create_index(batch_op.f('ix_queue_entries_patient_id'), ['patient_id'], unique=False)



def downgrade():
    # the tables' indexes go with them (MariaDB refuses to drop an index a foreign key uses first)
    op.drop_table('queue_entries')
    op.drop_table('queue_counters')
