"""WSGI entry point: `gunicorn wsgi:app` or `flask --app wsgi run`."""

import gc

from hms import create_app

app = create_app()
# What the app built at start-up (models, URL map, compiled templates: a quarter of a million objects)
# lives as long as the process: out of the garbage collector's sight, its full collections, which
# walked all of it every few hundred requests, cost next to nothing (tests/bench/profile_request.py).
gc.freeze()
