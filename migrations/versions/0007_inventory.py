"""Inventory: items (medicines and supplies) per hospital, medicine batches, stock movements.

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 18:55:00

"""

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        "inventory_items",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hospital_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=120), nullable=False),
        sa.Column("name_key", sa.String(length=120), nullable=False),
        sa.Column(
            "kind",
            sa.Enum("medicine", "supply", name="stockkind", native_enum=False, length=24),
            nullable=False,
        ),
        sa.Column("unit", sa.String(length=24), nullable=False),
        sa.Column("reorder_level", sa.Integer(), nullable=False),
        sa.Column("on_hand", sa.Integer(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("on_hand >= 0", name=op.f("ck_inventory_items_on_hand_not_negative")),
        sa.CheckConstraint("reorder_level >= 0", name=op.f("ck_inventory_items_reorder_level_not_negative")),
        sa.ForeignKeyConstraint(
            ["hospital_id"], ["hospitals.id"], name=op.f("fk_inventory_items_hospital_id_hospitals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_inventory_items")),
        sa.UniqueConstraint("hospital_id", "name_key", name=op.f("uq_inventory_items_hospital_id_name_key")),
    )
    with op.batch_alter_table("inventory_items", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_inventory_items_hospital_id"), ["hospital_id"], unique=False)

    op.create_table(
        "stock_batches",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("batch_number", sa.String(length=40), nullable=False),
        sa.Column("expiry_date", sa.Date(), nullable=False),
        sa.Column("on_hand", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("on_hand >= 0", name=op.f("ck_stock_batches_on_hand_not_negative")),
        sa.ForeignKeyConstraint(
            ["item_id"], ["inventory_items.id"], name=op.f("fk_stock_batches_item_id_inventory_items")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_batches")),
        sa.UniqueConstraint("item_id", "batch_number", name=op.f("uq_stock_batches_item_id_batch_number")),
    )
    with op.batch_alter_table("stock_batches", schema=None) as batch_op:
        batch_op.create_index("ix_stock_batches_item_expiry", ["item_id", "expiry_date"], unique=False)

    op.create_table(
        "stock_movements",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hospital_id", sa.Integer(), nullable=False),
        sa.Column("item_id", sa.Integer(), nullable=False),
        sa.Column("batch_id", sa.Integer(), nullable=True),
        sa.Column(
            "kind",
            sa.Enum(
                "receive",
                "dispense",
                "adjust",
                "transfer_out",
                name="movementkind",
                native_enum=False,
                length=24,
            ),
            nullable=False,
        ),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("supplier", sa.String(length=120), nullable=True),
        sa.Column("reason", sa.String(length=255), nullable=True),
        sa.Column("prescription_id", sa.Integer(), nullable=True),
        sa.Column("actor_id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.CheckConstraint("quantity <> 0", name=op.f("ck_stock_movements_quantity_not_zero")),
        sa.ForeignKeyConstraint(["actor_id"], ["users.id"], name=op.f("fk_stock_movements_actor_id_users")),
        sa.ForeignKeyConstraint(
            ["batch_id"], ["stock_batches.id"], name=op.f("fk_stock_movements_batch_id_stock_batches")
        ),
        sa.ForeignKeyConstraint(
            ["hospital_id"], ["hospitals.id"], name=op.f("fk_stock_movements_hospital_id_hospitals")
        ),
        sa.ForeignKeyConstraint(
            ["item_id"], ["inventory_items.id"], name=op.f("fk_stock_movements_item_id_inventory_items")
        ),
        sa.ForeignKeyConstraint(
            ["prescription_id"],
            ["prescriptions.id"],
            name=op.f("fk_stock_movements_prescription_id_prescriptions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_stock_movements")),
    )
    with op.batch_alter_table("stock_movements", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_stock_movements_batch_id"), ["batch_id"], unique=False)
        batch_op.create_index(
            "ix_stock_movements_hospital_kind_created", ["hospital_id", "kind", "created_at"], unique=False
        )
        batch_op.create_index("ix_stock_movements_item_created", ["item_id", "created_at"], unique=False)
        batch_op.create_index(
            batch_op.f("ix_stock_movements_prescription_id"), ["prescription_id"], unique=False
        )


def downgrade():
    # Tables only: MariaDB refuses to drop an index that a foreign key still needs.
    op.drop_table("stock_movements")
    op.drop_table("stock_batches")
    op.drop_table("inventory_items")
