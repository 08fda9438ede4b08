"""Chat and video calls per appointment, for its patient and its doctor only (404 for anyone else)."""

from __future__ import annotations

import json

from flask import Blueprint, abort, current_app, jsonify, make_response, request, url_for
from flask_babel import lazy_gettext
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import TextAreaField
from wtforms.validators import DataRequired, Length

from hms import clock
from hms import query as query_args
from hms.auth.session import role_required
from hms.extensions import db
from hms.forms import attach_error
from hms.htmx import is_htmx, redirect_to, render, trigger
from hms.i18n import N_
from hms.models import Message, Role
from hms.services import consultations as service
from hms.services.errors import DomainError, NotFound

bp = Blueprint("consult", __name__)
bp.before_request(role_required(Role.patient, Role.doctor))
MAX_ID = 2**31 - 1
PAGE_SIZE = 25  # messages per page: the chat page stays small on slow networks
MAX_SIGNAL_BYTES = 20_000


class MessageForm(FlaskForm):
    body = TextAreaField(
        N_("Message"),
        validators=[
            DataRequired(message=N_("Write a message first.")),
            Length(
                max=Message.MAX_LENGTH,
                message=lazy_gettext("Keep a message under %(num)d characters.", num=Message.MAX_LENGTH),
            ),
        ],
    )


def _appointment(appointment_id: int):  # type: ignore[no-untyped-def]
    if appointment_id > MAX_ID:
        abort(404)
    try:
        return service.participant_appointment(current_user, appointment_id)
    except NotFound:
        abort(404)


def _after() -> int:
    return query_args.number("after", 0, MAX_ID, default=0) or 0


@bp.get("/consultations/")
def index():
    now = clock.now()
    rows = service.conversations(current_user, now)
    return render(
        "consult/index.html",
        rows=rows,
        now=now,
        call_is_open=service.call_is_open,
        chat_is_open=service.chat_is_open,
    )


def _shown(appointment, before: int | None = None):  # type: ignore[no-untyped-def]
    """One page of messages (the latest, or those before `before`), and whether earlier ones exist."""
    up_to = None if before is None else max(before - 1, 0)
    rows = service.messages_between(appointment, up_to=up_to, limit=PAGE_SIZE + 1)
    return rows[-PAGE_SIZE:], len(rows) > PAGE_SIZE


def _chat_page(appointment, form: MessageForm, status: int = 200, before: int | None = None):  # type: ignore[no-untyped-def]
    """The conversation: its latest messages (or an earlier page of them), marked read and audited."""
    messages, has_earlier = _shown(appointment, before)
    last_id = messages[-1].id if messages else (before or 1) - 1
    unread_ids = {m.id for m in messages if m.sender_id != current_user.id and m.read_at is None}
    service.open_conversation(appointment, current_user, up_to=last_id)
    db.session.commit()
    first_id = messages[0].id if messages else 0
    messages = service.messages_between(appointment, after_id=first_id - 1, up_to=last_id)  # after the commit
    return render(
        "consult/chat.html",
        status=status,
        appointment=appointment,
        other=service.other_participant(appointment, current_user),
        messages=messages,
        has_earlier=has_earlier,
        history=before is not None,
        unread_ids=unread_ids,
        last_id=last_id,
        form=form,
        chat_open=service.chat_is_open(appointment),
        call_open=service.call_is_open(appointment),
        call_opens_at=service.call_opens_at(appointment),
        poll_seconds=current_app.config["CHAT_POLL_SECONDS"],
        now=clock.now(),
    )


@bp.get("/appointments/<int:appointment_id>/chat")
def chat(appointment_id: int):
    appointment = _appointment(appointment_id)
    before = query_args.number("before", 0, MAX_ID)
    if before is not None and is_htmx():  # "Earlier messages": the page above, in place of the link
        messages, has_earlier = _shown(appointment, before)
        return render(
            "consult/chat.html",
            "earlier",
            appointment=appointment,
            messages=messages,
            has_earlier=has_earlier,
            unread_ids=set(),
        )
    return _chat_page(appointment, MessageForm(formdata=None), before=before)


@bp.get("/appointments/<int:appointment_id>/chat/messages")
def new_messages(appointment_id: int):
    """The messages after `after` (the poller's last id): appended by HTMX; 204 when there are none."""
    appointment = _appointment(appointment_id)
    if not is_htmx():
        return redirect_to(url_for("consult.chat", appointment_id=appointment.id))
    after = _after()
    messages = service.messages_between(appointment, after_id=after)
    if not messages:
        return make_response("", 204)
    unread_ids = {m.id for m in messages if m.sender_id != current_user.id and m.read_at is None}
    last_id = messages[-1].id
    if unread_ids:
        service.mark_messages_read(appointment, current_user, up_to=last_id)
        db.session.commit()
        messages = service.messages_between(appointment, after_id=after, up_to=last_id)
    return render(
        "consult/chat.html",
        "poll",
        appointment=appointment,
        messages=messages,
        unread_ids=unread_ids,
        last_id=last_id,
        poll_seconds=current_app.config["CHAT_POLL_SECONDS"],
    )


@bp.post("/appointments/<int:appointment_id>/chat")
def send_message(appointment_id: int):
    appointment = _appointment(appointment_id)
    form = MessageForm()
    if form.validate_on_submit():
        try:
            service.post_message(appointment, current_user, form.body.data)
        except DomainError as error:
            db.session.rollback()
            attach_error(form, error)
        else:
            db.session.commit()
            if is_htmx():
                response = render(
                    "consult/chat.html",
                    "message_form",
                    appointment=appointment,
                    form=MessageForm(formdata=None),
                    chat_open=True,
                    refocus=True,
                )
                return trigger(response, "chatChanged")
            return redirect_to(url_for("consult.chat", appointment_id=appointment.id))
    if is_htmx():
        return render(
            "consult/chat.html",
            "message_form",
            status=422,
            appointment=appointment,
            form=form,
            chat_open=service.chat_is_open(appointment),
        )
    return _chat_page(appointment, form, status=422)


@bp.get("/appointments/<int:appointment_id>/video")
def video(appointment_id: int):
    appointment = _appointment(appointment_id)
    call_open = service.call_is_open(appointment)
    if is_htmx():
        # The waiting page asks now and then; once the call opens, the browser reloads into it.
        response = make_response("", 204)
        if call_open:
            response.headers["HX-Refresh"] = "true"
        return response
    last_id = 0
    if call_open:
        last_id = service.join_call(appointment, current_user)
        db.session.commit()
    return render(
        "consult/video.html",
        appointment=appointment,
        other=service.other_participant(appointment, current_user),
        call_open=call_open,
        call_opens_at=service.call_opens_at(appointment),
        call_over=not call_open and clock.now() >= service.call_opens_at(appointment),
        last_id=last_id,
        ice_servers=json.dumps(current_app.config["VIDEO_ICE_SERVERS"]),
    )


def _json_error(error: DomainError):  # type: ignore[no-untyped-def]
    return jsonify({"error": error.message}), error.status


@bp.get("/appointments/<int:appointment_id>/video/signals")
def signals(appointment_id: int):
    appointment = _appointment(appointment_id)
    rows = service.signals_after(appointment, current_user, _after())
    db.session.rollback()
    return jsonify(
        {
            "open": service.signalling_is_open(appointment),
            "signals": [{"id": s.id, "kind": s.kind, "payload": json.loads(s.payload)} for s in rows],
        }
    )


@bp.post("/appointments/<int:appointment_id>/video/signals")
def send_signal(appointment_id: int):
    appointment = _appointment(appointment_id)
    if request.content_length is None or request.content_length > MAX_SIGNAL_BYTES:
        abort(413)
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("kind"), str):
        return jsonify({"error": "Send a JSON object with a kind and a payload."}), 400
    try:
        signal = service.post_signal(appointment, current_user, data["kind"], data.get("payload"))
    except DomainError as error:
        db.session.rollback()
        return _json_error(error)
    db.session.commit()
    return jsonify({"id": signal.id}), 201
