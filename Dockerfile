# syntax=docker/dockerfile:1
# Build stage: dependencies into a virtualenv, static files collected with production storage.
FROM python:3.13-slim AS build
ENV PIP_NO_CACHE_DIR=1 PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_ROOT_USER_ACTION=ignore PYTHONDONTWRITEBYTECODE=1 \
    UV_NO_CACHE=1 UV_LINK_MODE=copy UV_COMPILE_BYTECODE=1 UV_PYTHON_DOWNLOADS=never UV_PROJECT_ENVIRONMENT=/opt/venv
WORKDIR /app
# uv, pinned as in the Makefile, installs the exact versions of uv.lock; it stays in this stage.
RUN pip install uv==0.13.9
RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
COPY pyproject.toml uv.lock ./
# The project installs no packages of its own: this pulls in its dependencies only, without the
# dev and bench extras, and fails if uv.lock no longer matches pyproject.toml.
RUN uv sync --locked --no-dev --python /opt/venv/bin/python
COPY . .
# collectstatic needs settings, not secrets: a throwaway key that never reaches the runtime image.
RUN DJANGO_ENV=production DJANGO_SECRET_KEY=collectstatic-only python manage.py collectstatic --noinput

# Runtime stage: slim, non-root, gunicorn.
FROM python:3.13-slim
ENV PATH=/opt/venv/bin:$PATH PYTHONUNBUFFERED=1 PYTHONDONTWRITEBYTECODE=1 DJANGO_ENV=production
RUN useradd --system --uid 10001 --home-dir /app --shell /usr/sbin/nologin mana
WORKDIR /app
COPY --from=build /opt/venv /opt/venv
COPY --from=build --chown=root:root /app /app
USER mana
EXPOSE 8000
# The probe names an allowed host, or Django's host validation would answer 400.
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import os, urllib.request; host = os.environ.get('DJANGO_ALLOWED_HOSTS', 'localhost').split(',')[0].strip().lstrip('.'); urllib.request.urlopen(urllib.request.Request('http://127.0.0.1:8000/health', headers={'Host': host}), timeout=4)"]
ENTRYPOINT ["/app/docker-entrypoint.sh"]
