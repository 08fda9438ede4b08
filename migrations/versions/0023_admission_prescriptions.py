"""Prescriptions written on the ward during an admission: a prescription belongs to a visit's encounter
or to an admission, exactly one of the two.

Revision ID: 0023_adm_rx
Revises: 0022_inpatient
Create Date: 2026-12-06 17:20:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0023_adm_rx'
down_revision = '0022_inpatient'
branch_labels = None
depends_on = None


def _rebuilt_on_sqlite():
    """SQLite rebuilds the table (copy, drop, rename): dropping the old one would cascade-delete every
    prescription's lines and leave the stock movements that name one in breach of their foreign key
    (SQLite counts the breach at the drop and never sees the rows come back under the new table). Keep
    both aside and put them back once the new table holds the same ids."""
    if op.get_bind().dialect.name != 'sqlite':
        return False
    op.execute('PRAGMA defer_foreign_keys = ON')
    op.execute('DROP TABLE IF EXISTS _rx_items_keep')
    op.execute('DROP TABLE IF EXISTS _rx_moves_keep')
    op.execute('CREATE TABLE _rx_items_keep AS SELECT * FROM prescription_items')
    op.execute(
        'CREATE TABLE _rx_moves_keep AS SELECT id, prescription_id FROM stock_movements'
        ' WHERE prescription_id IS NOT NULL'
    )
    op.execute('UPDATE stock_movements SET prescription_id = NULL WHERE prescription_id IS NOT NULL')
    return True


def _restore_on_sqlite(kept):
    if not kept:
        return
    op.execute('DELETE FROM prescription_items')
    op.execute('INSERT INTO prescription_items SELECT * FROM _rx_items_keep')
    op.execute(
        'UPDATE stock_movements SET prescription_id = (SELECT k.prescription_id FROM _rx_moves_keep AS k'
        ' WHERE k.id = stock_movements.id) WHERE id IN (SELECT id FROM _rx_moves_keep)'
    )
    op.execute('DROP TABLE _rx_items_keep')
    op.execute('DROP TABLE _rx_moves_keep')


def upgrade():
    kept = _rebuilt_on_sqlite()
    with op.batch_alter_table('prescriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('admission_id', sa.Integer(), nullable=True))
        batch_op.alter_column('encounter_id',
               existing_type=sa.INTEGER(),
               nullable=True)
        batch_op.create_index(batch_op.f('ix_prescriptions_admission_id'), ['admission_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_prescriptions_admission_id_admissions'), 'admissions', ['admission_id'], ['id'])
        batch_op.create_check_constraint(
            op.f('ck_prescriptions_encounter_or_admission'),
            '(encounter_id IS NULL) <> (admission_id IS NULL)',
        )
    _restore_on_sqlite(kept)


def downgrade():
    # An admission's prescriptions have no visit to belong to: they go, with their lines; stock
    # dispensed against them stays in the stock history without the prescription.
    admission_rx = 'SELECT id FROM (SELECT id FROM prescriptions WHERE admission_id IS NOT NULL) AS rx'
    op.execute(f'UPDATE stock_movements SET prescription_id = NULL WHERE prescription_id IN ({admission_rx})')
    op.execute(f'DELETE FROM prescription_items WHERE prescription_id IN ({admission_rx})')
    op.execute('UPDATE prescriptions SET supersedes_id = NULL WHERE admission_id IS NOT NULL')
    op.execute('DELETE FROM prescriptions WHERE admission_id IS NOT NULL')
    kept = _rebuilt_on_sqlite()
    with op.batch_alter_table('prescriptions', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_prescriptions_encounter_or_admission'), type_='check')
        batch_op.drop_constraint(batch_op.f('fk_prescriptions_admission_id_admissions'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_prescriptions_admission_id'))
        batch_op.alter_column('encounter_id',
               existing_type=sa.INTEGER(),
               nullable=False)
        batch_op.drop_column('admission_id')
    _restore_on_sqlite(kept)
