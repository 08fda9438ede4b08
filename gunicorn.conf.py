"""gunicorn settings for HMS (`gunicorn --config gunicorn.conf.py wsgi:app`); each can be set from the
environment, so the same file serves the container, a bare host and the benchmarks."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "0.0.0.0:8000")
# Sync workers: each request is short (pages of a few KB, no streaming); the database does the waiting.
workers = int(os.environ.get("GUNICORN_WORKERS") or 2 * multiprocessing.cpu_count() + 1)
threads = int(os.environ.get("GUNICORN_THREADS", "1"))
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = int(os.environ.get("GUNICORN_GRACEFUL_TIMEOUT", "30"))
keepalive = 5
# A worker is replaced after this many requests (jittered so they do not all restart at once).
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = max_requests // 10
# Heartbeat files in memory: a container's disk may be slow (overlay), which gunicorn reads as a hang.
worker_tmp_dir = "/dev/shm" if os.path.isdir("/dev/shm") else None  # noqa: S108 - gunicorn's own heartbeat
# No control socket (gunicornc is not used): it would go to $HOME, which the image's user cannot write,
# and several servers on one host would fight over it.
control_socket_disable = True

# Which peers may tell gunicorn the scheme (X-Forwarded-Proto); the client's address for the app comes
# from TRUSTED_PROXIES (werkzeug's ProxyFix), which rate limits and the audit log use.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1,::1")

# Access log on stdout ("" turns it off), with the address the proxy saw, the time taken in
# microseconds and no query strings (they may carry search terms about patients).
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
access_log_format = '%(h)s fwd=%({x-forwarded-for}i)s "%(m)s %(U)s %(H)s" %(s)s %(B)s %(D)sus "%(a)s"'
errorlog = "-"
loglevel = os.environ.get("GUNICORN_LOG_LEVEL", "info")
