"""The laboratory: a catalogue of tests (reference ranges, critical and physical limits, prices) and
panels per hospital; orders from encounters with their specimens, items and results (amendments
keep the value they replace).

Revision ID: 0020_lab
Revises: 0019_merges
Create Date: 2026-12-06 13:12:22

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0020_lab'
down_revision = '0019_merges'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('lab_panels',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hospital_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('loinc', sa.String(length=10), nullable=True),
    sa.Column('price_minor', sa.BigInteger(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.ForeignKeyConstraint(['hospital_id'], ['hospitals.id'], name=op.f('fk_lab_panels_hospital_id_hospitals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lab_panels')),
    sa.UniqueConstraint('hospital_id', 'code', name='uq_lab_panels_hospital_code')
    )
    with op.batch_alter_table('lab_panels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lab_panels_hospital_id'), ['hospital_id'], unique=False)

    op.create_table('lab_tests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hospital_id', sa.Integer(), nullable=False),
    sa.Column('code', sa.String(length=16), nullable=False),
    sa.Column('name', sa.String(length=120), nullable=False),
    sa.Column('loinc', sa.String(length=10), nullable=True),
    sa.Column('specimen', sa.Enum('blood', 'serum', 'plasma', 'urine', 'stool', 'swab', 'sputum', 'csf', 'other', name='specimenkind', native_enum=False, length=24), nullable=False),
    sa.Column('kind', sa.Enum('numeric', 'choice', 'text', name='resultkind', native_enum=False, length=24), nullable=False),
    sa.Column('unit', sa.String(length=24), nullable=True),
    sa.Column('decimals', sa.SmallInteger(), nullable=False),
    sa.Column('choices', sa.String(length=500), nullable=True),
    sa.Column('critical_low', sa.Numeric(precision=14, scale=4), nullable=True),
    sa.Column('critical_high', sa.Numeric(precision=14, scale=4), nullable=True),
    sa.Column('physical_low', sa.Numeric(precision=14, scale=4), nullable=True),
    sa.Column('physical_high', sa.Numeric(precision=14, scale=4), nullable=True),
    sa.Column('turnaround_minutes', sa.Integer(), nullable=False),
    sa.Column('price_minor', sa.BigInteger(), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(), nullable=False),
    sa.ForeignKeyConstraint(['hospital_id'], ['hospitals.id'], name=op.f('fk_lab_tests_hospital_id_hospitals')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lab_tests')),
    sa.UniqueConstraint('hospital_id', 'code', name='uq_lab_tests_hospital_code')
    )
    with op.batch_alter_table('lab_tests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lab_tests_hospital_id'), ['hospital_id'], unique=False)

    op.create_table('lab_panel_tests',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('panel_id', sa.Integer(), nullable=False),
    sa.Column('test_id', sa.Integer(), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['panel_id'], ['lab_panels.id'], name=op.f('fk_lab_panel_tests_panel_id_lab_panels'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['test_id'], ['lab_tests.id'], name=op.f('fk_lab_panel_tests_test_id_lab_tests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lab_panel_tests')),
    sa.UniqueConstraint('panel_id', 'test_id', name='uq_lab_panel_tests_panel_test')
    )
    with op.batch_alter_table('lab_panel_tests', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lab_panel_tests_test_id'), ['test_id'], unique=False)

    op.create_table('lab_reference_ranges',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('test_id', sa.Integer(), nullable=False),
    sa.Column('sex', sa.Enum('female', 'male', 'other', 'unknown', name='sex', native_enum=False, length=24), nullable=True),
    sa.Column('age_from_days', sa.Integer(), nullable=False),
    sa.Column('age_to_days', sa.Integer(), nullable=True),
    sa.Column('low', sa.Numeric(precision=14, scale=4), nullable=True),
    sa.Column('high', sa.Numeric(precision=14, scale=4), nullable=True),
    sa.ForeignKeyConstraint(['test_id'], ['lab_tests.id'], name=op.f('fk_lab_reference_ranges_test_id_lab_tests'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lab_reference_ranges'))
    )
    with op.batch_alter_table('lab_reference_ranges', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lab_reference_ranges_test_id'), ['test_id'], unique=False)

    op.create_table('lab_orders',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('hospital_id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('encounter_id', sa.Integer(), nullable=False),
    sa.Column('doctor_id', sa.Integer(), nullable=False),
    sa.Column('ordered_by_id', sa.Integer(), nullable=False),
    sa.Column('priority', sa.Enum('routine', 'urgent', 'stat', name='labpriority', native_enum=False, length=24), nullable=False),
    sa.Column('status', sa.Enum('ordered', 'collected', 'resulted', 'verified', 'cancelled', name='laborderstatus', native_enum=False, length=24), nullable=False),
    sa.Column('clinical_note', sa.String(length=500), nullable=False),
    sa.Column('bill_id', sa.Integer(), nullable=True),
    sa.Column('ordered_at', sa.DateTime(), nullable=False),
    sa.Column('collected_at', sa.DateTime(), nullable=True),
    sa.Column('cancelled_at', sa.DateTime(), nullable=True),
    sa.Column('cancelled_by_id', sa.Integer(), nullable=True),
    sa.Column('cancel_reason', sa.String(length=500), nullable=True),
    sa.ForeignKeyConstraint(['bill_id'], ['bills.id'], name=op.f('fk_lab_orders_bill_id_bills')),
    sa.ForeignKeyConstraint(['cancelled_by_id'], ['users.id'], name=op.f('fk_lab_orders_cancelled_by_id_users')),
    sa.ForeignKeyConstraint(['doctor_id'], ['doctors.id'], name=op.f('fk_lab_orders_doctor_id_doctors')),
    sa.ForeignKeyConstraint(['encounter_id'], ['encounters.id'], name=op.f('fk_lab_orders_encounter_id_encounters')),
    sa.ForeignKeyConstraint(['hospital_id'], ['hospitals.id'], name=op.f('fk_lab_orders_hospital_id_hospitals')),
    sa.ForeignKeyConstraint(['ordered_by_id'], ['users.id'], name=op.f('fk_lab_orders_ordered_by_id_users')),
    sa.ForeignKeyConstraint(['patient_id'], ['patients.id'], name=op.f('fk_lab_orders_patient_id_patients')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lab_orders'))
    )
    with op.batch_alter_table('lab_orders', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lab_orders_doctor_id'), ['doctor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lab_orders_encounter_id'), ['encounter_id'], unique=False)
        batch_op.create_index('ix_lab_orders_hospital_status', ['hospital_id', 'status'], unique=False)
        batch_op.create_index('ix_lab_orders_patient_ordered', ['patient_id', 'ordered_at'], unique=False)

    op.create_table('lab_specimens',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.Enum('blood', 'serum', 'plasma', 'urine', 'stool', 'swab', 'sputum', 'csf', 'other', name='specimenkind', native_enum=False, length=24), nullable=False),
    sa.Column('label', sa.String(length=24), nullable=False),
    sa.Column('collected_at', sa.DateTime(), nullable=False),
    sa.Column('collected_by_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['collected_by_id'], ['users.id'], name=op.f('fk_lab_specimens_collected_by_id_users')),
    sa.ForeignKeyConstraint(['order_id'], ['lab_orders.id'], name=op.f('fk_lab_specimens_order_id_lab_orders')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lab_specimens')),
    sa.UniqueConstraint('label', name=op.f('uq_lab_specimens_label'))
    )
    with op.batch_alter_table('lab_specimens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lab_specimens_order_id'), ['order_id'], unique=False)

    op.create_table('lab_order_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=False),
    sa.Column('test_id', sa.Integer(), nullable=False),
    sa.Column('panel_id', sa.Integer(), nullable=True),
    sa.Column('specimen_id', sa.Integer(), nullable=True),
    sa.Column('status', sa.Enum('registered', 'preliminary', 'final', 'amended', 'cancelled', name='labitemstatus', native_enum=False, length=24), nullable=False),
    sa.Column('version', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['order_id'], ['lab_orders.id'], name=op.f('fk_lab_order_items_order_id_lab_orders')),
    sa.ForeignKeyConstraint(['panel_id'], ['lab_panels.id'], name=op.f('fk_lab_order_items_panel_id_lab_panels')),
    sa.ForeignKeyConstraint(['specimen_id'], ['lab_specimens.id'], name=op.f('fk_lab_order_items_specimen_id_lab_specimens')),
    sa.ForeignKeyConstraint(['test_id'], ['lab_tests.id'], name=op.f('fk_lab_order_items_test_id_lab_tests')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lab_order_items'))
    )
    with op.batch_alter_table('lab_order_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_lab_order_items_order_id'), ['order_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_lab_order_items_test_id'), ['test_id'], unique=False)

    op.create_table('lab_results',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('item_id', sa.Integer(), nullable=False),
    sa.Column('value_number', sa.Numeric(precision=14, scale=4), nullable=True),
    sa.Column('value_text', sa.String(length=500), nullable=True),
    sa.Column('unit', sa.String(length=24), nullable=True),
    sa.Column('flag', sa.Enum('L', 'H', 'LL', 'HH', name='labflag', native_enum=False, length=24), nullable=True),
    sa.Column('reference_low', sa.Numeric(precision=14, scale=4), nullable=True),
    sa.Column('reference_high', sa.Numeric(precision=14, scale=4), nullable=True),
    sa.Column('critical', sa.Boolean(), nullable=False),
    sa.Column('entered_by_id', sa.Integer(), nullable=False),
    sa.Column('entered_at', sa.DateTime(), nullable=False),
    sa.Column('verified_by_id', sa.Integer(), nullable=True),
    sa.Column('verified_at', sa.DateTime(), nullable=True),
    sa.Column('amends_id', sa.Integer(), nullable=True),
    sa.Column('amend_reason', sa.String(length=500), nullable=True),
    sa.Column('acknowledged_by_id', sa.Integer(), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(), nullable=True),
    sa.Column('escalated_at', sa.DateTime(), nullable=True),
    sa.ForeignKeyConstraint(['acknowledged_by_id'], ['users.id'], name=op.f('fk_lab_results_acknowledged_by_id_users')),
    sa.ForeignKeyConstraint(['amends_id'], ['lab_results.id'], name=op.f('fk_lab_results_amends_id_lab_results')),
    sa.ForeignKeyConstraint(['entered_by_id'], ['users.id'], name=op.f('fk_lab_results_entered_by_id_users')),
    sa.ForeignKeyConstraint(['item_id'], ['lab_order_items.id'], name=op.f('fk_lab_results_item_id_lab_order_items')),
    sa.ForeignKeyConstraint(['verified_by_id'], ['users.id'], name=op.f('fk_lab_results_verified_by_id_users')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_lab_results'))
    )
    with op.batch_alter_table('lab_results', schema=None) as batch_op:
        batch_op.create_index('ix_lab_results_critical_open', ['critical', 'acknowledged_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_lab_results_item_id'), ['item_id'], unique=False)


def downgrade():
    # Their indexes go with the tables (MariaDB refuses to drop one first: a foreign key uses it).
    for table in (
        'lab_results',
        'lab_order_items',
        'lab_specimens',
        'lab_orders',
        'lab_reference_ranges',
        'lab_panel_tests',
        'lab_tests',
        'lab_panels',
    ):
        op.drop_table(table)
