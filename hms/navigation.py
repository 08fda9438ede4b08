"""The app shell's navigation, defined once: for each role its main destinations (at most six, some of
them groups that open as a menu) and, for every signed-in user, the account menu. The shell
(templates/_shell.html) renders it as a bar on wide screens and as one menu on phones; pages are marked
with aria-current. A new screen plugs in by adding a `Link` here (with `kinds` for staff screens)."""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app, request, url_for
from flask_babel import get_translations
from flask_login import current_user
from markupsafe import Markup, escape

from hms.i18n import N_, locale_code
from hms.models import Role, StaffKind
from hms.url_cache import keep


@dataclass(frozen=True)
class Link:
    endpoint: str
    label: str
    kinds: tuple[StaffKind, ...] = ()  # staff only: the kinds of staff who use this screen
    # other endpoints under this destination (a bill's page is under "Bills"), for aria-current
    also: tuple[str, ...] = ()


@dataclass(frozen=True)
class Group:
    label: str
    links: tuple[Link, ...]


Item = Link | Group

NAVIGATION: dict[Role, tuple[Item, ...]] = {
    Role.patient: (
        Link("patient.dashboard", N_("Dashboard")),
        Link("patient.find_doctors", N_("Find a doctor"), also=("patient.doctor_page",)),
        Link("patient.appointments", N_("My appointments"), also=("patient.appointment",)),
        Group(
            N_("My health"),
            (
                Link("patient.records", N_("Medical history")),
                Link("patient.encounters", N_("My visits")),
                Link("patient.lab_results", N_("Test results"), also=("patient.lab_order",)),
                Link("patient.admissions", N_("Hospital stays"), also=("patient.admission",)),
                Link("patient.record_access", N_("Record access")),
            ),
        ),
        Link("patient.bills", N_("My bills"), also=("patient.bill",)),
        Link("consult.index", N_("Messages")),
    ),
    Role.doctor: (
        Link("doctor.dashboard", N_("Dashboard")),
        Link("doctor.agenda", N_("Agenda")),
        Link("doctor.queue", N_("My queue")),
        Link("doctor.patients", N_("My patients"), also=("doctor.patient_record",)),
        Link("consult.index", N_("Messages")),
        Group(
            N_("My practice"),
            (
                Link("doctor.schedule", N_("My schedule")),
                Link("doctor.hospitals", N_("My hospitals")),
                Link("ward.my_admissions", N_("My inpatients"), also=("ward.admission",)),
                Link("ward.bed_board", N_("Beds")),
            ),
        ),
    ),
    Role.hospital_admin: (
        Link("hospital_admin.dashboard", N_("Dashboard")),
        Link("hospital_admin.appointments", N_("Appointments")),
        Link("hospital_admin.week", N_("Week")),
        Link("hospital_admin.patients", N_("Patients"), also=("hospital_admin.patient",)),
        Group(
            N_("Hospital"),
            (
                Link("hospital_admin.doctors", N_("Doctors")),
                Link("hospital_admin.departments", N_("Departments")),
                Link("hospital_admin.staff", N_("Staff")),
                Link("hospital_admin.profile", N_("Profile")),
                Link("hospital_sms.settings", N_("Text messages")),
            ),
        ),
        Group(
            N_("Operations"),
            (
                Link(
                    "hospital_admin.front_desk",
                    N_("Registration desk"),
                    also=(
                        "hospital_admin.desk_register",
                        "hospital_admin.desk_patient",
                        "hospital_admin.desk_merge_pick",
                        "hospital_admin.desk_merge",
                        "hospital_admin.desk_merges",
                    ),
                ),
                Link(
                    "hospital_admin.flow_board",
                    N_("Flow board"),
                    also=(
                        "hospital_admin.arrivals",
                        "hospital_admin.desk_walk_in",
                        "hospital_admin.wall_display",
                    ),
                ),
                Link("hospital_admin.desk_bills", N_("Bills"), also=("hospital_admin.desk_bill",)),
                Link("hospital_admin.inventory", N_("Inventory")),
                Link(
                    "hospital_admin.lab_tests",
                    N_("Laboratory"),
                    also=(
                        "hospital_admin.lab_test",
                        "hospital_admin.lab_panels",
                        "hospital_admin.lab_criticals",
                    ),
                ),
                Link(
                    "hospital_admin.wards_list",
                    N_("Wards and beds"),
                    also=("hospital_admin.ward", "hospital_admin.bed_remove_confirm"),
                ),
                Link("ward.bed_board", N_("Beds")),
                Link("hospital_admin.reports", N_("Reports")),
            ),
        ),
    ),
    Role.staff: (
        Link("staff.dashboard", N_("Dashboard")),
        Link(
            "staff.front_desk",
            N_("Registration desk"),
            (StaffKind.receptionist,),
            also=("staff.desk_register", "staff.desk_patient", "staff.desk_merge_pick", "staff.desk_merge"),
        ),
        Link(
            "staff.flow_board",
            N_("Flow board"),
            (StaffKind.receptionist, StaffKind.nurse),
            also=("staff.arrivals", "staff.desk_walk_in"),
        ),
        Link("staff.desk_bills", N_("Billing desk"), (StaffKind.receptionist,), also=("staff.desk_bill",)),
        Link("staff.inventory", N_("Inventory"), (StaffKind.pharmacist,)),
        Link("staff.triage_list", N_("Triage"), (StaffKind.nurse,), also=("staff.triage",)),
        Link(
            "ward.bed_board",
            N_("Beds"),
            (StaffKind.receptionist, StaffKind.nurse),
            also=("ward.waiting_list", "ward.desk_admit"),
        ),
        Link(
            "staff.lab_work_list",
            N_("Laboratory"),
            (StaffKind.lab_technician,),
            also=("staff.lab_order", "staff.lab_label"),
        ),
    ),
    Role.super_admin: (
        Link("super_admin.dashboard", N_("Dashboard")),
        Link("super_admin.hospitals", N_("Hospitals"), also=("super_admin.hospital",)),
        Link("super_admin.doctors", N_("Doctors"), also=("super_admin.doctor",)),
        Link("super_admin.patients", N_("Patients"), also=("super_admin.patient",)),
        Link("super_admin.reports", N_("Reports")),
        Link("super_admin.outbox_status", N_("Mail queue")),
    ),
}

# Every signed-in user's own settings (the account menu; logging out is its last entry).
ACCOUNT: tuple[Link, ...] = (
    Link("account.security", N_("Security")),
    Link("api_tokens.tokens", N_("API and calendar")),
    Link("notifications.preferences", N_("Notification settings")),
)


@dataclass
class Entry:
    """A link or a group as the shell draws it: its address and whether it is the current page."""

    label: str
    href: str = ""
    current: bool = False
    links: list[Entry] = field(default_factory=list)


def _entry(link: Link, endpoint: str | None) -> Entry:
    here = endpoint == link.endpoint or endpoint in link.also
    return Entry(link.label, url_for(link.endpoint), here)


def _allowed(link: Link) -> bool:
    if not link.kinds:
        return True
    staff = getattr(current_user, "staff", None)
    return staff is not None and staff.kind in link.kinds


def links_for(role: Role) -> list[Link]:
    """Every link of a role, groups opened (for tests and the page-weight benchmark)."""
    out: list[Link] = []
    for item in NAVIGATION.get(role, ()):
        out.extend(item.links if isinstance(item, Group) else (item,))
    return out


def shell_markup() -> dict[str, Markup]:
    """The signed-in user's navigation as markup: `bar` (wide screens), `menu` (phones) and `account`
    (the account menu's own links), the same for everyone of a role (and kind of staff) on a page in a
    language. So it is drawn once per process for each, not on every request (it was a sixth of a doctor
    page's work); the app keeps them, keyed also by the application's root, as hms/url_cache.py does."""
    if not current_user.is_authenticated:
        return {"bar": Markup(), "menu": Markup(), "account": Markup()}
    # Only staff see links by kind (and only theirs is loaded: another role's `staff` is a query).
    staff = current_user.staff if current_user.role == Role.staff else None
    key = (
        current_user.role,
        staff.kind if staff is not None else None,
        request.endpoint,
        locale_code(),
        request.script_root,
    )
    return keep(current_app.extensions.setdefault("hms_navigation", {}), key, _drawn_shell)


def _drawn_shell() -> dict[str, Markup]:
    nav = shell()
    return {
        "bar": _entries_markup(nav["main"], menu=False),
        "menu": _entries_markup(nav["main"], menu=True),
        "account": _entries_markup(nav["account"], menu=False),
    }


def _entries_markup(entries: list[Entry], *, menu: bool) -> Markup:
    """Entries as list items: a link, or a group (a dropdown in the bar, a labelled list in the menu).
    Labels are our catalog's text, trusted as templates' `_()` trusts it."""
    gettext = get_translations().ugettext
    out = []
    for entry in entries:
        label = gettext(entry.label)
        if entry.links:
            inner = _entries_markup(entry.links, menu=menu)
            if menu:
                out.append(f'<li class="menu-group"><span>{label}</span><ul>{inner}</ul></li>')
            else:
                current = ' class="current"' if entry.current else ""
                out.append(
                    f'<li><details class="dropdown"><summary{current}>{label}</summary>'
                    f"<ul>{inner}</ul></details></li>"
                )
        else:
            current = ' aria-current="page"' if entry.current else ""
            out.append(f'<li><a href="{escape(entry.href)}"{current}>{label}</a></li>')
    return Markup("".join(out))  # noqa: S704 - addresses escaped, labels from our catalog


def shell() -> dict[str, list[Entry]]:
    """The navigation of the signed-in user, once per page: `main` (links and groups) and `account`."""
    if not current_user.is_authenticated:
        return {"main": [], "account": []}
    endpoint = request.endpoint
    main: list[Entry] = []
    for item in NAVIGATION.get(current_user.role, ()):
        if isinstance(item, Group):
            links = [_entry(link, endpoint) for link in item.links if _allowed(link)]
            if links:
                main.append(Entry(item.label, links=links, current=any(e.current for e in links)))
        elif _allowed(item):
            main.append(_entry(item, endpoint))
    return {"main": main, "account": [_entry(link, endpoint) for link in ACCOUNT]}
