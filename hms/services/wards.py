"""The hospital administrator's wards and beds: wards created, edited (name, kind, nightly rate in the
hospital's currency) and closed; beds added one by one or as a range ("A1-A12"), renamed, taken out of
service and back, marked cleaned, removed.

A bed is never touched while a patient lies in it (hms/models/inpatient.py): every status change is a
conditional UPDATE on the bed's `version` and its current status, so of two people acting on one bed at
once exactly one wins and the other is told (Conflict). Removing a bed that was ever used keeps it,
retired, for the stays that name it; a bed never used is deleted. Every function takes rows already
looked up through the admin's hospital; it flushes and the caller commits."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

from babel.numbers import get_currency_precision
from flask_babel import gettext
from sqlalchemy import delete, exists, func, select, update

from hms import clock
from hms.database import lock_rows, savepoint
from hms.extensions import db
from hms.i18n import N_
from hms.models import Admission, Bed, BedStatus, BedStay, Hospital, User, Ward, WardKind
from hms.money import decimal_to_minor
from hms.services.audit import record_event
from hms.services.errors import Conflict, Invalid

MAX_RATE = Decimal(10_000_000_000)
MAX_BEDS_AT_ONCE = 100
LABEL_LENGTH = 24
NAME_LENGTH = 80
# "A1-A12", "A01–A12", "ICU-1-ICU-4" or "A1-12": a prefix, a first number, a dash, the prefix again
# (optional) and a last number.
RANGE = re.compile(r"(?P<prefix>.*?)(?P<first>\d+)\s*[-–]\s*(?:(?P=prefix))?(?P<last>\d+)")

NAME_TAKEN = N_("A ward called “%(name)s” already exists in this hospital.")
LABELS_TAKEN = N_("This ward already has a bed called %(labels)s.")
IN_USE = N_("Bed %(label)s is in use: a patient lies in it.")
GONE = N_("Bed %(label)s was removed meanwhile.")
CHANGED = N_("Bed %(label)s was changed by someone else meanwhile; it is now %(status)s.")
# What the administrator may do to a bed's status (occupied beds are the admission service's).
ADMIN_MOVES = {
    BedStatus.free: (BedStatus.out_of_service,),
    BedStatus.out_of_service: (BedStatus.free,),
    BedStatus.cleaning: (BedStatus.free,),
}


@dataclass
class WardBeds:
    """A ward with its beds in service order (retired ones left out) and their count per status."""

    ward: Ward
    beds: list[Bed] = field(default_factory=list)

    @property
    def counts(self) -> dict[BedStatus, int]:
        counted = Counter(bed.status for bed in self.beds)
        return {status: counted.get(status, 0) for status in BedStatus}


# ---------------------------------------------------------------- queries


def natural_key(label: str) -> tuple:  # type: ignore[type-arg]
    """A2 before A10: digits compared as numbers."""
    return tuple(int(part) if part.isdigit() else part.lower() for part in re.split(r"(\d+)", label))


def ward_beds(hospital_id: int, ward_id: int | None = None) -> list[WardBeds]:
    """The hospital's wards (open ones first, by name) with their beds: two statements whatever the
    number of wards and beds. With `ward_id`, that ward only (an empty list when it is not here)."""
    wards = select(Ward).where(Ward.hospital_id == hospital_id)
    beds = select(Bed).where(Bed.hospital_id == hospital_id, Bed.retired.is_(False))
    if ward_id is not None:
        wards = wards.where(Ward.id == ward_id)
        beds = beds.where(Bed.ward_id == ward_id)
    listing = {
        ward.id: WardBeds(ward)
        for ward in db.session.scalars(wards.order_by(Ward.active.desc(), func.lower(Ward.name), Ward.id))
    }
    if not listing:
        return []
    for bed in db.session.scalars(beds):
        if bed.ward_id in listing:
            listing[bed.ward_id].beds.append(bed)
    for entry in listing.values():
        entry.beds.sort(key=lambda bed: natural_key(bed.label))
    return list(listing.values())


def beds_of(ward: Ward) -> WardBeds:
    """One ward (already looked up) with its beds: one statement."""
    entry = WardBeds(
        ward, list(db.session.scalars(select(Bed).where(Bed.ward_id == ward.id, Bed.retired.is_(False))))
    )
    entry.beds.sort(key=lambda bed: natural_key(bed.label))
    return entry


def hospital_ward(hospital_id: int, ward_id: int) -> Ward | None:
    ward = db.session.get(Ward, ward_id)
    return ward if ward is not None and ward.hospital_id == hospital_id else None


def hospital_bed(hospital_id: int, ward_id: int, bed_id: int) -> Bed | None:
    """The bed of that ward of that hospital, not retired; None otherwise."""
    bed = db.session.get(Bed, bed_id)
    if bed is None or bed.hospital_id != hospital_id or bed.ward_id != ward_id or bed.retired:
        return None
    return bed


# ---------------------------------------------------------------- checks


def parse_rate(value: Decimal | str | None, currency: str) -> int:
    """A nightly rate in minor units of `currency`; empty is free. Refuses what the currency cannot
    hold (too many decimals), negatives and absurd amounts on the field `daily_rate`."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return 0
    try:
        amount = value if isinstance(value, Decimal) else Decimal(value.strip().replace(",", ""))
    except InvalidOperation:
        raise Invalid(N_("Enter an amount such as 2500 or 2500.50."), field="daily_rate") from None
    if not amount.is_finite() or amount < 0 or amount >= MAX_RATE:
        raise Invalid(N_("Enter an amount of zero or more."), field="daily_rate")
    try:
        return decimal_to_minor(amount, currency)
    except ValueError:
        places = get_currency_precision(currency)
        raise Invalid(
            gettext("%(currency)s amounts have at most %(num)d decimals.", currency=currency, num=places),
            field="daily_rate",
        ) from None


def _clean_name(name: str | None) -> str:
    name = " ".join((name or "").split())
    if len(name) < 2 or len(name) > NAME_LENGTH:
        raise Invalid(N_("Enter a ward name of 2 to 80 characters."), field="name")
    return name


def _clean_kind(kind: str | WardKind | None) -> WardKind:
    try:
        return WardKind(kind)
    except ValueError:
        raise Invalid(N_("Choose a kind of ward."), field="kind") from None


def _clean_label(label: str | None, field_name: str = "label") -> str:
    label = " ".join((label or "").split())
    if not label or len(label) > LABEL_LENGTH or any(c in label for c in "<>\"'"):
        raise Invalid(N_("Enter a bed label of at most 24 letters, digits or dashes."), field=field_name)
    return label


def bed_labels(spec: str | None) -> list[str]:
    """The labels a spec names: one label ("A1"), a range ("A1-A12": A1, A2 … A12, zero padding
    kept), or several of either separated by commas. Refused on the field `labels`."""
    labels: list[str] = []
    for part in (spec or "").split(","):
        part = " ".join(part.split())
        if not part:
            continue
        match = RANGE.fullmatch(part)
        if match:
            first, last = int(match["first"]), int(match["last"])
            if last <= first:
                raise Invalid(N_("A range goes up, such as A1-A12."), field="labels")
            if last - first + 1 > MAX_BEDS_AT_ONCE:
                raise Invalid(N_("Add at most 100 beds at once."), field="labels")
            width = len(match["first"]) if match["first"].startswith("0") else 0
            labels += [
                _clean_label(f"{match['prefix']}{n:0{width}d}", "labels") for n in range(first, last + 1)
            ]
        else:
            labels.append(_clean_label(part, "labels"))
    if not labels:
        raise Invalid(N_("Enter a bed label such as A1, or a range such as A1-A12."), field="labels")
    if len(labels) > MAX_BEDS_AT_ONCE:
        raise Invalid(N_("Add at most 100 beds at once."), field="labels")
    repeated = [label for label, n in Counter(labels).items() if n > 1]
    if repeated:
        raise Invalid(gettext(LABELS_TAKEN, labels=", ".join(repeated)), field="labels")
    return labels


def _name_taken(hospital_id: int, name: str, but: int | None = None) -> bool:
    query = select(Ward.id).where(Ward.hospital_id == hospital_id, func.lower(Ward.name) == name.lower())
    if but is not None:
        query = query.where(Ward.id != but)
    return db.session.scalar(query.limit(1)) is not None


def _held(bed_id: int):  # type: ignore[no-untyped-def]
    """An open admission lies in the bed (the UNIQUE admissions.bed_id)."""
    return exists().where(Admission.bed_id == bed_id)


# ---------------------------------------------------------------- wards


def create_ward(
    hospital: Hospital, actor: User, *, name: str, kind: str, daily_rate: Decimal | str | None
) -> Ward:
    """A new open ward without beds."""
    name = _clean_name(name)
    values = {"kind": _clean_kind(kind), "daily_rate_minor": parse_rate(daily_rate, hospital.currency)}
    if _name_taken(hospital.id, name):
        raise Invalid(gettext(NAME_TAKEN, name=name), field="name")
    ward = Ward(hospital_id=hospital.id, name=name, active=True, **values)
    # A name (or, below, a label) taken by a concurrent request since the check: the same 422.
    with savepoint(Invalid(gettext(NAME_TAKEN, name=name), field="name")):
        db.session.add(ward)
    record_event("create", "ward", ward.id, hospital_id=hospital.id, detail=name)
    return ward


def update_ward(ward: Ward, actor: User, *, name: str, kind: str, daily_rate: Decimal | str | None) -> bool:
    """Change a ward's name, kind and nightly rate (stays already billed keep theirs); True if
    anything changed."""
    values = {
        "name": _clean_name(name),
        "kind": _clean_kind(kind),
        "daily_rate_minor": parse_rate(daily_rate, ward.hospital.currency),
    }
    if values["name"] != ward.name and _name_taken(ward.hospital_id, values["name"], ward.id):
        raise Invalid(gettext(NAME_TAKEN, name=values["name"]), field="name")
    changed = [key for key, value in values.items() if getattr(ward, key) != value]
    if changed:
        with savepoint(Invalid(gettext(NAME_TAKEN, name=values["name"]), field="name")):
            for key in changed:
                setattr(ward, key, values[key])
        record_event("update", "ward", ward.id, hospital_id=ward.hospital_id, detail=",".join(changed))
    return bool(changed)


def set_ward_active(ward: Ward, active: bool, actor: User) -> bool:
    """Close a ward (no new admissions; its beds stay) or open it again. A ward with a patient in one
    of its beds cannot be closed."""
    if ward.active == active:
        return False
    if not active:
        # The ward's lock waits for an admission putting a patient in one of its beds (it locks the ward
        # too, hms.services.inpatient); the checks then read with locks, so they see what it committed.
        lock_rows((Ward, ward.id))
        occupied = select(Bed.id).where(Bed.ward_id == ward.id, Bed.status == BedStatus.occupied)
        in_bed = select(Admission.id).where(Admission.ward_id == ward.id, Admission.bed_id.is_not(None))
        if db.session.scalar(occupied.limit(1).with_for_update()) or db.session.scalar(
            in_bed.limit(1).with_for_update()
        ):
            raise Conflict(N_("Patients lie in this ward: discharge or transfer them before closing it."))
    ward.active = active
    db.session.flush()
    record_event("open" if active else "close", "ward", ward.id, hospital_id=ward.hospital_id)
    return True


# ---------------------------------------------------------------- beds


def add_beds(ward: Ward, spec: str, actor: User) -> list[Bed]:
    """Beds named by `spec` (see `bed_labels`), free. A label of a bed removed earlier brings that bed
    back; a label of a bed in service is refused."""
    labels = bed_labels(spec)
    existing = {
        bed.label.lower(): bed
        for bed in db.session.scalars(
            select(Bed).where(Bed.ward_id == ward.id, func.lower(Bed.label).in_([x.lower() for x in labels]))
        )
    }
    taken = [bed.label for bed in existing.values() if not bed.retired]
    if taken:
        taken.sort(key=natural_key)
        raise Invalid(gettext(LABELS_TAKEN, labels=", ".join(taken)), field="labels")
    now = clock.now()
    added = []
    with savepoint(Invalid(gettext(LABELS_TAKEN, labels=", ".join(labels)), field="labels")):
        for label in labels:
            bed = existing.get(label.lower())
            if bed is None:
                bed = Bed(ward_id=ward.id, hospital_id=ward.hospital_id, label=label, changed_at=now)
                db.session.add(bed)
            else:
                bed.retired, bed.status, bed.label = False, BedStatus.free, label
                bed.version, bed.changed_at = bed.version + 1, now
            added.append(bed)
    record_event("create", "bed", ward.id, hospital_id=ward.hospital_id, detail=",".join(labels)[:500])
    return added


def rename_bed(bed: Bed, label: str, actor: User) -> bool:
    """A new label, unique in its ward."""
    label = _clean_label(label)
    if label == bed.label:
        return False
    clash = db.session.scalar(
        select(Bed.id).where(
            Bed.ward_id == bed.ward_id, func.lower(Bed.label) == label.lower(), Bed.id != bed.id
        )
    )
    if clash is not None:
        raise Invalid(gettext(LABELS_TAKEN, labels=label), field="label")
    previous = bed.label
    with savepoint(Invalid(gettext(LABELS_TAKEN, labels=label), field="label")):
        bed.label = label
        bed.changed_at = clock.now()
    record_event("update", "bed", bed.id, hospital_id=bed.hospital_id, detail=f"{previous} → {label}"[:500])
    return True


def _move(bed: Bed, to: BedStatus, allowed: tuple[BedStatus, ...], version: int | None) -> None:
    """Move the bed to `to` if it is still in one of `allowed`, at the `version` the user saw, and no
    admission holds it: one conditional UPDATE, so of two people at once exactly one wins."""
    expected = bed.version if version is None else version
    # The bed's row lock first (on SQLite: the one writer's lock, waited for), so that the second of
    # two people waits for the first to commit and then finds the version changed.
    lock_rows((Bed, bed.id))
    moved = db.session.execute(
        update(Bed)
        .where(
            Bed.id == bed.id,
            Bed.version == expected,
            Bed.status.in_(allowed),
            Bed.retired.is_(False),
            ~_held(bed.id),
        )
        .values(status=to, version=Bed.version + 1, changed_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    label = bed.label
    db.session.expire(bed, ["status", "version", "changed_at", "retired"])
    if moved.rowcount != 1:
        _refuse(bed.id, label)


def _refuse(bed_id: int, label: str) -> None:
    """Why a conditional change of the bed found nothing to change: someone lies in it, someone
    removed it, or someone changed it first."""
    now = db.session.execute(select(Bed.status, Bed.retired).where(Bed.id == bed_id)).first()
    if now is None or now.retired:
        raise Conflict(gettext(GONE, label=label))
    if now.status == BedStatus.occupied or db.session.scalar(select(_held(bed_id))):
        raise Conflict(gettext(IN_USE, label=label))
    raise Conflict(gettext(CHANGED, label=label, status=gettext(BedStatus(now.status).label)))


def _unchanged_since(bed: Bed, version: int | None) -> None:
    """The bed as the user saw it (`version`), or a Conflict saying what it is now."""
    if version is not None and version != bed.version:
        if bed.status == BedStatus.occupied:
            raise Conflict(gettext(IN_USE, label=bed.label))
        raise Conflict(gettext(CHANGED, label=bed.label, status=gettext(bed.status.label)))


def set_bed_status(bed: Bed, status: BedStatus | str, actor: User, *, version: int | None = None) -> bool:
    """The administrator's moves: free ↔ out of service, cleaning → free. An occupied bed, or one that
    someone else changed since `version`, is a Conflict. False when the bed already has that status."""
    try:
        to = BedStatus(status)
    except ValueError:
        raise Invalid(N_("Choose a bed status."), field="status") from None
    _unchanged_since(bed, version)
    if bed.status == to:
        return False
    if bed.status == BedStatus.occupied:
        raise Conflict(gettext(IN_USE, label=bed.label))
    allowed = tuple(start for start, ends in ADMIN_MOVES.items() if to in ends)
    if bed.status not in allowed:
        raise Conflict(_no_move(bed, to))
    _move(bed, to, allowed, version)
    record_event("update", "bed", bed.id, hospital_id=bed.hospital_id, detail=f"status {to.value}")
    return True


def _no_move(bed: Bed, to: BedStatus) -> str:
    return gettext(
        "Bed %(label)s cannot go from %(current)s to %(wanted)s.",
        label=bed.label,
        current=gettext(bed.status.label),
        wanted=gettext(to.label),
    )


def mark_bed_cleaned(bed: Bed, actor: User, *, version: int | None = None) -> None:
    """Cleaning → free, by a nurse or the administrator: the bed is offered again."""
    _unchanged_since(bed, version)
    if bed.status == BedStatus.occupied:
        raise Conflict(gettext(IN_USE, label=bed.label))
    if bed.status != BedStatus.cleaning:
        raise Conflict(_no_move(bed, BedStatus.free))
    _move(bed, BedStatus.free, (BedStatus.cleaning,), version)
    record_event("update", "bed", bed.id, hospital_id=bed.hospital_id, detail="cleaned")


def remove_bed(bed: Bed, actor: User) -> str:
    """Remove a bed nobody lies in: 'retired' (kept, hidden, out of service) when stays name it,
    'deleted' when it was never used. An occupied bed, or one an admission holds, is a Conflict."""
    if bed.status == BedStatus.occupied or db.session.scalar(select(_held(bed.id))):
        raise Conflict(gettext(IN_USE, label=bed.label))
    used = db.session.scalar(select(exists().where(BedStay.bed_id == bed.id)))
    free_of_patients = (
        Bed.id == bed.id,
        Bed.version == bed.version,
        Bed.status != BedStatus.occupied,
        ~_held(bed.id),
    )
    bed_id, hospital_id, label = bed.id, bed.hospital_id, bed.label
    if used:
        done = db.session.execute(
            update(Bed)
            .where(*free_of_patients)
            .values(
                retired=True,
                status=BedStatus.out_of_service,
                version=Bed.version + 1,
                changed_at=clock.now(),
            )
            .execution_options(synchronize_session=False)
        )
    else:
        done = db.session.execute(
            delete(Bed).where(*free_of_patients).execution_options(synchronize_session=False)
        )
    if done.rowcount != 1:
        db.session.expire(bed)
        _refuse(bed_id, label)
    if used:
        db.session.expire(bed)
    else:  # gone: out of the session, and out of its ward's loaded list of beds
        db.session.expire(bed.ward, ["beds"])
        db.session.expunge(bed)
    outcome = "retired" if used else "deleted"
    record_event("delete", "bed", bed_id, hospital_id=hospital_id, detail=f"{label} {outcome}")
    return outcome
