"""Inpatient care: wards, beds, admissions with their bed stays and notes; vital signs taken on a ward
round belong to an admission instead of a visit.

Revision ID: 0022_inpatient
Revises: 0021_senior
Create Date: 2026-12-06 16:17:07

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0022_inpatient'
down_revision = '0021_senior'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('wards',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hospital_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=80), nullable=False),
    sa.Column('kind', sa.Enum('general', 'surgical', 'icu', 'maternity', 'paediatric', 'isolation', name='wardkind', native_enum=False, length=24), nullable=False),
    sa.Column('daily_rate_minor', sa.BigInteger(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['hospital_id'], ['hospitals.id'], name=op.f('fk_wards_hospital_id_hospitals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_wards')),
    sa.UniqueConstraint('hospital_id', 'name', name='uq_wards_hospital_name')
    )
    with op.batch_alter_table('wards', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_wards_hospital_id'), ['hospital_id'], unique=False)

    op.create_table('beds',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('ward_id', sa.Integer(), nullable=False),
    sa.Column('hospital_id', sa.Integer(), nullable=False),
    sa.Column('label', sa.String(length=24), nullable=False),
    sa.Column('status', sa.Enum('free', 'occupied', 'cleaning', 'out_of_service', name='bedstatus', native_enum=False, length=24), nullable=False),
    sa.Column('retired', sa.Boolean(), nullable=False),
    sa.Column('changed_at', sa.DateTime(), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['hospital_id'], ['hospitals.id'], name=op.f('fk_beds_hospital_id_hospitals')),
    sa.ForeignKeyConstraint(['ward_id'], ['wards.id'], name=op.f('fk_beds_ward_id_wards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_beds')),
    sa.UniqueConstraint('ward_id', 'label', name='uq_beds_ward_label')
    )
    with op.batch_alter_table('beds', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_beds_hospital_id'), ['hospital_id'], unique=False)

    op.create_table('admissions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hospital_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('ward_id', sa.Integer(), nullable=False),
    sa.Column('bed_id', sa.Integer(), nullable=True),
    sa.Column('open_patient_id', sa.Integer(), nullable=True),
    sa.Column('encounter_id', sa.Integer(), nullable=True),
    sa.Column('admitting_doctor_id', sa.Integer(), nullable=False),
    sa.Column('attending_doctor_id', sa.Integer(), nullable=False),
    sa.Column('status', sa.Enum('ordered', 'admitted', 'discharge_ordered', 'discharged', 'cancelled', name='admissionstatus', native_enum=False, length=24), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.Column('expected_days', sa.SmallInteger(), nullable=True),
    sa.Column('ordered_at', sa.DateTime(), nullable=False),
    sa.Column('ordered_by_id', sa.Integer(), nullable=False),
    sa.Column('admitted_at', sa.DateTime(), nullable=True),
    sa.Column('admitted_by_id', sa.Integer(), nullable=True),
    sa.Column('discharge_ordered_at', sa.DateTime(), nullable=True),
    sa.Column('discharge_diagnoses', sa.Text(), nullable=False),
    sa.Column('discharge_procedures', sa.Text(), nullable=False),
    sa.Column('discharge_medicines', sa.Text(), nullable=False),
    sa.Column('discharge_advice', sa.Text(), nullable=False),
    sa.Column('follow_up_appointment_id', sa.Integer(), nullable=True),
    sa.Column('discharged_at', sa.DateTime(), nullable=True),
    sa.Column('discharged_by_id', sa.Integer(), nullable=True),
    sa.Column('cancel_reason', sa.String(length=500), nullable=True),
    sa.Column('bill_id', sa.Integer(), nullable=True),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['admitted_by_id'], ['users.id'], name=op.f('fk_admissions_admitted_by_id_users')),
    sa.ForeignKeyConstraint(['admitting_doctor_id'], ['doctors.id'], name=op.f('fk_admissions_admitting_doctor_id_doctors')),
    sa.ForeignKeyConstraint(['attending_doctor_id'], ['doctors.id'], name=op.f('fk_admissions_attending_doctor_id_doctors')),
    sa.ForeignKeyConstraint(['bed_id'], ['beds.id'], name=op.f('fk_admissions_bed_id_beds')),
    sa.ForeignKeyConstraint(['bill_id'], ['bills.id'], name=op.f('fk_admissions_bill_id_bills')),
    sa.ForeignKeyConstraint(['discharged_by_id'], ['users.id'], name=op.f('fk_admissions_discharged_by_id_users')),
    sa.ForeignKeyConstraint(['encounter_id'], ['encounters.id'], name=op.f('fk_admissions_encounter_id_encounters')),
    sa.ForeignKeyConstraint(['follow_up_appointment_id'], ['appointments.id'], name=op.f('fk_admissions_follow_up_appointment_id_appointments')),
    sa.ForeignKeyConstraint(['hospital_id'], ['hospitals.id'], name=op.f('fk_admissions_hospital_id_hospitals')),
    sa.ForeignKeyConstraint(['open_patient_id'], ['patients.id'], name=op.f('fk_admissions_open_patient_id_patients')),
    sa.ForeignKeyConstraint(['ordered_by_id'], ['users.id'], name=op.f('fk_admissions_ordered_by_id_users')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_admissions_patient_id_patients')),
    sa.ForeignKeyConstraint(['ward_id'], ['wards.id'], name=op.f('fk_admissions_ward_id_wards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admissions')),
    sa.UniqueConstraint('bed_id', name=op.f('uq_admissions_bed_id')),
    sa.UniqueConstraint('open_patient_id', name=op.f('uq_admissions_open_patient_id'))
    )
    with op.batch_alter_table('admissions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_admissions_admitting_doctor_id'), ['admitting_doctor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_admissions_attending_doctor_id'), ['attending_doctor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_admissions_encounter_id'), ['encounter_id'], unique=False)
        batch_op.create_index('ix_admissions_hospital_status', ['hospital_id', 'status'], unique=False)
        batch_op.create_index('ix_admissions_patient_admitted', ['patient_id', 'admitted_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_admissions_ward_id'), ['ward_id'], unique=False)

    op.create_table('admission_notes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('admission_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('progress', 'nursing', name='notekind', native_enum=False, length=24), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('author_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['admission_id'], ['admissions.id'], name=op.f('fk_admission_notes_admission_id_admissions')),
    sa.ForeignKeyConstraint(['author_id'], ['users.id'], name=op.f('fk_admission_notes_author_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_admission_notes'))
    )
    with op.batch_alter_table('admission_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_admission_notes_admission_id'), ['admission_id'], unique=False)

    op.create_table('bed_stays',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('admission_id', sa.Integer(), nullable=False),
    sa.Column('bed_id', sa.Integer(), nullable=False),
    sa.Column('ward_id', sa.Integer(), nullable=False),
    sa.Column('started_at', sa.DateTime(), nullable=False),
    sa.Column('ended_at', sa.DateTime(), nullable=True),
    sa.Column('moved_by_id', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=500), nullable=False),
    sa.ForeignKeyConstraint(['admission_id'], ['admissions.id'], name=op.f('fk_bed_stays_admission_id_admissions')),
    sa.ForeignKeyConstraint(['bed_id'], ['beds.id'], name=op.f('fk_bed_stays_bed_id_beds')),
    sa.ForeignKeyConstraint(['moved_by_id'], ['users.id'], name=op.f('fk_bed_stays_moved_by_id_users')),
    sa.ForeignKeyConstraint(['ward_id'], ['wards.id'], name=op.f('fk_bed_stays_ward_id_wards')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bed_stays'))
    )
    with op.batch_alter_table('bed_stays', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bed_stays_admission_id'), ['admission_id'], unique=False)
        batch_op.create_index('ix_bed_stays_bed_started', ['bed_id', 'started_at'], unique=False)

    with op.batch_alter_table('vital_signs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('admission_id', sa.Integer(), nullable=True))
        batch_op.alter_column('appointment_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.create_index(batch_op.f('ix_vital_signs_admission_id'), ['admission_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_vital_signs_admission_id_admissions'), 'admissions', ['admission_id'], ['id'])
        batch_op.create_check_constraint(
            op.f('ck_vital_signs_visit_or_admission'),
            '(appointment_id IS NULL) <> (admission_id IS NULL)',
        )



def downgrade():
    # The tables' own indexes go with them (MariaDB refuses to drop one that a foreign key needs).
    op.execute('DELETE FROM vital_signs WHERE admission_id IS NOT NULL')
    with op.batch_alter_table('vital_signs', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_vital_signs_visit_or_admission'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_vital_signs_admission_id_admissions'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_vital_signs_admission_id'))
        batch_op.alter_column('appointment_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('admission_id')

    op.drop_table('bed_stays')
    op.drop_table('admission_notes')
    op.drop_table('admissions')
    op.drop_table('beds')
    op.drop_table('wards')
