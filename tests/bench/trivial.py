"""The yardstick of tests/bench/limit.py: a Flask app that answers 2 KB of text and does nothing else,
served by the same gunicorn settings as HMS (`gunicorn --config gunicorn.conf.py tests.bench.trivial:app`)."""

from flask import Flask

app = Flask(__name__)
BODY = "x" * 2048


@app.get("/")
def index() -> str:
    return BODY


@app.get("/healthz")
def healthz() -> str:
    return "ok\n"
