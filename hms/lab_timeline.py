"""The laboratory orders of visits, for the timelines that list visits (the patient's visits page, the
doctor's view of a patient's record): one statement for a page of visits."""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select

from hms.extensions import db
from hms.models import LabOrder, LabOrderStatus


def orders_by_encounter(encounter_ids: list[int]) -> dict[int, list[LabOrder]]:
    """The orders (but the cancelled ones) of these visits, by visit, oldest first."""
    found: dict[int, list[LabOrder]] = defaultdict(list)
    if encounter_ids:
        for order in db.session.scalars(
            select(LabOrder)
            .where(LabOrder.encounter_id.in_(encounter_ids), LabOrder.status != LabOrderStatus.cancelled)
            .order_by(LabOrder.id)
        ):
            found[order.encounter_id].append(order)
    return found
