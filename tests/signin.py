"""Sign a user in on a Flask test client the way our login does (a server-side session and its token
in the cookie), without paying for argon2 or the second factor: the tests' `login_as` and the benchmarks."""

from __future__ import annotations

from flask.testing import FlaskClient

from hms.extensions import db


def sign_in(client: FlaskClient, user) -> FlaskClient:  # type: ignore[no-untyped-def]
    from hms.auth.session import ROLE_KEY, SESSION_KEY
    from hms.services import sessions

    _row, token = sessions.start_session(user, ip="127.0.0.1", user_agent="pytest")
    db.session.commit()
    with client.session_transaction() as sess:
        sess.clear()
        sess["_user_id"] = user.get_id()
        sess["_fresh"] = True
        sess[SESSION_KEY] = token
        sess[ROLE_KEY] = user.role.value
    return client
