"""Front desk: a patient registered at the desk has no email and no password until he claims his
account; patients gain an approximate date of birth flag, a guardian, the registering hospital and
search keys (folded name, last nine phone digits), filled here for the patients already there.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 10:45:00

"""
import re
import unicodedata

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None


def _name_key(full_name):
    # the same as hms.models.users.name_key, frozen here as it was when this revision was written
    plain = "".join(c for c in unicodedata.normalize("NFKD", full_name or "") if not unicodedata.combining(c))
    return " ".join(sorted(re.findall(r"\w+", plain.casefold())))[:160]


def _phone_key(phone):
    digits = "".join(c for c in (phone or "") if c.isdigit() and c.isascii())
    return digits[-9:] or None


def upgrade():
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('email', existing_type=sa.String(length=254), nullable=True)
        batch_op.alter_column('password_hash', existing_type=sa.String(length=255), nullable=True)

    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('date_of_birth_approximate', sa.Boolean(), server_default=sa.false(), nullable=False))
        batch_op.add_column(sa.Column('guardian_name', sa.String(length=120), nullable=True))
        batch_op.add_column(sa.Column('guardian_phone', sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column('registered_hospital_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('name_key', sa.String(length=160), nullable=True))
        batch_op.add_column(sa.Column('phone_key', sa.String(length=16), nullable=True))
        batch_op.create_index(batch_op.f('ix_patients_registered_hospital_id'), ['registered_hospital_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_patients_name_key'), ['name_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_patients_phone_key'), ['phone_key'], unique=False)
        batch_op.create_foreign_key(
            batch_op.f('fk_patients_registered_hospital_id_hospitals'), 'hospitals', ['registered_hospital_id'], ['id']
        )

    bind = op.get_bind()
    patients = sa.table('patients', sa.column('id', sa.Integer), sa.column('name_key', sa.String), sa.column('phone_key', sa.String))
    rows = bind.execute(
        sa.text('SELECT patients.id, users.full_name, patients.phone FROM patients JOIN users ON users.id = patients.user_id')
    ).all()
    for patient_id, full_name, phone in rows:
        bind.execute(
            patients.update()
            .where(patients.c.id == patient_id)
            .values(name_key=_name_key(full_name), phone_key=_phone_key(phone))
        )


def downgrade():
    with op.batch_alter_table('patients', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_patients_registered_hospital_id_hospitals'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_patients_phone_key'))
        batch_op.drop_index(batch_op.f('ix_patients_name_key'))
        batch_op.drop_index(batch_op.f('ix_patients_registered_hospital_id'))
        batch_op.drop_column('phone_key')
        batch_op.drop_column('name_key')
        batch_op.drop_column('registered_hospital_id')
        batch_op.drop_column('guardian_phone')
        batch_op.drop_column('guardian_name')
        batch_op.drop_column('date_of_birth_approximate')

    # Unclaimed desk accounts keep a unique address nobody can receive mail at and a hash nothing matches.
    users = sa.table('users', sa.column('id', sa.Integer), sa.column('email', sa.String), sa.column('password_hash', sa.String))
    bind = op.get_bind()
    for (user_id,) in bind.execute(sa.select(users.c.id).where(users.c.email.is_(None))).all():
        bind.execute(users.update().where(users.c.id == user_id).values(email=f'unclaimed-{user_id}@desk.invalid'))
    bind.execute(users.update().where(users.c.password_hash.is_(None)).values(password_hash='!'))
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.alter_column('password_hash', existing_type=sa.String(length=255), nullable=False)
        batch_op.alter_column('email', existing_type=sa.String(length=254), nullable=False)
