# syntax=docker/dockerfile:1
# The clean-my-data application image: one image for every role (db upgrade, api, worker,
# transformer, relay, auditors). Two stages: "build" turns the source into a wheel and installs
# it with its dependencies into /opt/venv; "runtime" copies only that venv onto a clean slim
# base, so no compiler, build backend or source tree reaches the final image.
#
#   docker build -t clean-my-data:latest .
#   docker run --rm clean-my-data:latest --help

ARG PYTHON_IMAGE=python:3.11-slim-bookworm

FROM ${PYTHON_IMAGE} AS build
ENV PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1
WORKDIR /src
# Only what the wheel needs (hatchling packs sql/ into the wheel as outbox/_sql).
COPY pyproject.toml README.md ./
COPY domain ./domain
COPY outbox ./outbox
COPY relay ./relay
COPY clean_my_data ./clean_my_data
COPY sql ./sql
# pip compiles the bytecode at install time; it stays in the image (the runtime user cannot
# write it), so every `clean-my-data` process starts without recompiling.
RUN python -m pip wheel --no-deps --wheel-dir /wheels . \
    && python -m venv /opt/venv \
    && /opt/venv/bin/pip install /wheels/clean_my_data-*.whl \
    && /opt/venv/bin/pip uninstall --yes pip

FROM ${PYTHON_IMAGE} AS runtime
LABEL org.opencontainers.image.title="clean-my-data" \
      org.opencontainers.image.description="Data-quality analysis with an outbox relay to S3"
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    STAGING_DIR=/var/lib/clean-my-data/staging \
    LOG_FORMAT=json
# A dedicated unprivileged user with a fixed uid/gid, so volume ownership is predictable.
RUN groupadd --system --gid 10001 cmd \
    && useradd --system --uid 10001 --gid cmd --no-create-home \
       --home-dir /var/lib/clean-my-data --shell /usr/sbin/nologin cmd \
    && mkdir -p /var/lib/clean-my-data/staging /data/inbox /data/results /data/archive \
    && chown -R cmd:cmd /var/lib/clean-my-data /data
COPY --from=build /opt/venv /opt/venv
COPY --chmod=0755 deploy/healthcheck.py deploy/create_bucket.py deploy/watch-inbox.sh \
     /opt/clean-my-data/
USER 10001:10001
WORKDIR /var/lib/clean-my-data
# The staging directory is shared by the transformer and its relay sidecar: mount ONE named
# volume here in both containers (docker-compose.yml does).
VOLUME ["/var/lib/clean-my-data/staging"]
# 8000: `serve` (the api); 9108: the relay's METRICS_PORT.
EXPOSE 8000 9108
# Staging directory writable; with METRICS_PORT set (the relay), /metrics answers too; the api
# overrides it with `healthcheck.py --url http://127.0.0.1:8000/readyz` (docker-compose.yml).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
    CMD ["python", "/opt/clean-my-data/healthcheck.py"]
ENTRYPOINT ["clean-my-data"]
CMD ["--help"]
