# Production image: gunicorn web, Celery worker and beat all run from it (docker-compose.yml).
FROM python:3.11-slim-bookworm
ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 DJANGO_SETTINGS_MODULE=hub.settings.production HUB_VAR_DIR=/app/var
RUN apt-get update && apt-get install -y --no-install-recommends gettext curl && rm -rf /var/lib/apt/lists/* \
    && useradd --create-home --uid 1000 hub
WORKDIR /app
COPY pyproject.toml README.md ./
COPY hub hub
COPY providers providers
COPY usage usage
COPY sessions_app sessions_app
COPY stats stats
COPY templates templates
COPY static static
COPY locale locale
COPY manage.py ./
RUN pip install --no-cache-dir . && mkdir -p var && chown hub:hub var
USER hub
# collectstatic needs a database URL to import settings, not a database.
RUN DATABASE_URL=postgresql://build@localhost/build REDIS_URL=redis://localhost:6379/0 SECRET_KEY=build \
    python manage.py collectstatic --noinput -v 0
EXPOSE 8000
CMD ["gunicorn", "hub.wsgi", "--config", "python:hub.gunicorn", "--bind", "0.0.0.0:8000", "--workers", "4", "--threads", "4", "--access-logfile", "-"]
