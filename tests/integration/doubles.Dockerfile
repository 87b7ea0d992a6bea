# The test doubles (tests/doubles: the fake Telegram Bot API and the fake LLM) as an image,
# for the stack tests' Compose file: the standard library plus httpx and aiohttp at the lock's versions.
ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
RUN python3 -m venv /opt/uv && /opt/uv/bin/pip install --no-cache-dir --quiet "uv==0.13.9"
COPY pyproject.toml uv.lock /src/
RUN cd /src && /opt/uv/bin/uv export --frozen --all-groups --no-hashes --no-emit-project \
        --format requirements-txt > /tmp/constraints.txt \
    && python3 -m venv /app/.venv \
    && /opt/uv/bin/uv pip install --no-cache --python /app/.venv/bin/python \
        --constraint /tmp/constraints.txt httpx aiohttp

FROM ${PYTHON_IMAGE}
RUN useradd --user-group --uid 10001 --home-dir /app --no-create-home --shell /usr/sbin/nologin doubles
WORKDIR /app
COPY --from=build /app/.venv ./.venv
COPY tests/__init__.py ./tests/__init__.py
COPY tests/doubles ./tests/doubles
ENV PATH=/app/.venv/bin:$PATH PYTHONUNBUFFERED=1
USER doubles
