# The bot as a container: `docker compose -f deploy/docker-compose.yml --env-file .env up -d`
# (see README.md, "Production"). Runs `python -m bot` from /app as an unprivileged user; everything it
# writes (SQLite database, backups) lives in the /app/data volume.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# pg_dump / pg_restore for backups of a PostgreSQL database (bookworm's client is 15, the
# server's version in deploy/docker-compose.yml; the client must not be older than the server).
RUN apt-get update \
    && apt-get install -y --no-install-recommends postgresql-client \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app

# Dependencies first, so this layer is rebuilt only when the lock changes: the exact versions
# tested (requirements.lock: the app with its PostgreSQL and Redis extras).
COPY requirements.lock ./
RUN pip install -r requirements.lock

COPY alembic.ini ./
COPY bot ./bot
COPY db ./db
COPY fiscal ./fiscal
COPY handlers ./handlers
COPY keyboards ./keyboards
COPY scheduler ./scheduler
COPY sms ./sms

# The message catalogs (.mo) and the bytecode are compiled here: the running container never
# writes into /app (and PYTHONDONTWRITEBYTECODE), so without them every start would compile
# ~210 modules again (~0.2 s, more on a busy host) before the first update.
COPY pyproject.toml README.md ./
RUN pip install --no-deps . && python -m bot.i18n \
    && python -m compileall -q bot db fiscal handlers keyboards scheduler sms

RUN useradd --system --uid 10001 --user-group --home-dir /app --no-create-home servicedesk \
    && mkdir -p /app/data/backups \
    && chown -R servicedesk:servicedesk /app/data
USER servicedesk
VOLUME ["/app/data"]

# The app's web server in polling mode (GET /healthz, status pages); in webhook mode the same
# routes are served on WEBHOOK_LISTEN (default 0.0.0.0:8080).
ENV WEB_LISTEN=0.0.0.0:8081
EXPOSE 8080 8081

# No curl in the image: the health check is Python's urllib (a non-2xx answer raises).
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
    CMD ["python", "-c", "import os, urllib.request; listen = os.environ.get('WEBHOOK_LISTEN', '0.0.0.0:8080') if os.environ.get('WEBHOOK_URL') else os.environ.get('WEB_LISTEN', ''); port = (listen or ':8081').rsplit(':', 1)[1]; urllib.request.urlopen(f'http://127.0.0.1:{port}/healthz', timeout=4)"]

# SIGTERM lets the bot finish the updates in hand and close its clients (bot/app.py).
STOPSIGNAL SIGTERM
CMD ["python", "-m", "bot"]
