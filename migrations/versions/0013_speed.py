"""Speed: a session keeps its idle time (no query per request for it); audit events are written without
a lock and sealed into the hash chain by the worker (seal_seq; hashes empty until sealed).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-06 10:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('idle_minutes', sa.Integer(), nullable=True))
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('seal_seq', sa.Integer(), nullable=True))
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=True)
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=True)
    # The events so far were chained in id order: their position in the chain is their rank by id.
    events = sa.table('audit_events', sa.column('id', sa.Integer()), sa.column('seal_seq', sa.Integer()))
    connection = op.get_bind()
    ids = [row[0] for row in connection.execute(sa.select(events.c.id).order_by(events.c.id))]
    for start in range(0, len(ids), 1000):
        connection.execute(
            events.update().where(events.c.id == sa.bindparam('event_id')).values(seal_seq=sa.bindparam('seq')),
            [{'event_id': event_id, 'seq': start + n + 1} for n, event_id in enumerate(ids[start:start + 1000])],
        )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_audit_events_seal_seq'), ['seal_seq'])


def downgrade():
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_audit_events_seal_seq'), type_='unique')
    # Events written but not sealed yet cannot go back to a schema that needs their hashes.
    op.execute("DELETE FROM audit_events WHERE seal_seq IS NULL")
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.alter_column('hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.alter_column('prev_hash', existing_type=sa.String(length=64), nullable=False)
        batch_op.drop_column('seal_seq')
    with op.batch_alter_table('user_sessions', schema=None) as batch_op:
        batch_op.drop_column('idle_minutes')
