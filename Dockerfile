# HMS: `docker compose up -d --build` (compose.yaml) or `docker build -t hms .`.
# Stage 1 fetches the front-end packages with npm and copies the few files we serve (package.json's
# "vendor" script, the same one `make setup` runs); stage 2 is the Python runtime, without Node.

FROM node:20-bookworm-slim AS assets
WORKDIR /build
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund && npm run --silent vendor

FROM python:3.11-slim AS runtime
ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PATH=/opt/venv/bin:$PATH \
    FLASK_APP=wsgi \
    HMS_ENV=production
# DejaVu Sans: PDF receipts and prescriptions in every script patients' names are written in.
RUN apt-get update \
    && apt-get install -y --no-install-recommends fonts-dejavu-core \
    && rm -rf /var/lib/apt/lists/* \
    && useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin hms
WORKDIR /app
# requirements.txt holds what HMS needs to run; the tests' tools are in requirements-dev.txt, not here.
COPY requirements.txt ./
RUN python3 -m venv /opt/venv \
    && pip install -r requirements.txt
COPY config.py wsgi.py gunicorn.conf.py babel.cfg ./
COPY hms ./hms
COPY migrations ./migrations
COPY templates ./templates
COPY static ./static
COPY translations ./translations
COPY --from=assets /build/static/vendor ./static/vendor
# Compiled catalogs are built, never committed (the Makefile's `catalogs` rule runs the same command).
# The bundles (one CSS, one JS, with .br/.gz copies) are built here too: the runtime user cannot write static/.
RUN pybabel compile -d translations \
    && python -m hms.assets \
    && mkdir -p instance \
    && chown hms:hms instance
USER hms
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python3", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4)"]
CMD ["gunicorn", "--config", "gunicorn.conf.py", "wsgi:app"]
