# syntax=docker/dockerfile:1
# One image for every component: `trustline` is the command, its first argument picks the component
# (ingest, aggregate, api, migrate, topics create). The base is pinned by digest; refresh it on purpose
# (`docker buildx imagetools inspect python:3.11-slim-bookworm`), never by a moving tag.
ARG PYTHON_BASE=python:3.11-slim-bookworm@sha256:2e32f7d302adc1c37428355c1e646897c0c53f4fd60b6a551245fb90ee129f91

FROM ${PYTHON_BASE} AS build
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_ROOT_USER_ACTION=ignore
WORKDIR /src
RUN python -m venv /opt/trustline
# The package sources only: what tests/integration/test_product_install.py installs the same way.
COPY pyproject.toml README.md ./
COPY services ./services
COPY shared ./shared
# No extras: the local stack (embedded PostgreSQL, broker) is a development tool and stays out.
# Bytecode is compiled here, once: the final image's file system is read-only at run time.
RUN /opt/trustline/bin/pip install --no-compile . \
    && /opt/trustline/bin/python -m compileall -q -j 0 /opt/trustline/lib

FROM ${PYTHON_BASE}
ARG VERSION=0.1.0
ARG REVISION=unknown
ARG CREATED=unknown
LABEL org.opencontainers.image.title="trustline" \
      org.opencontainers.image.description="Security events in, business-aligned risk metrics out." \
      org.opencontainers.image.licenses="Apache-2.0" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.revision="${REVISION}" \
      org.opencontainers.image.created="${CREATED}" \
      org.opencontainers.image.base.name="python:3.11-slim-bookworm"
ENV PATH=/opt/trustline/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    TRUSTLINE_STATE_DIR=/tmp/trustline
COPY --from=build /opt/trustline /opt/trustline
# A numeric user and group that exist nowhere else: Kubernetes' runAsNonRoot can check a number.
USER 10001:10001
EXPOSE 8000 9101 9102
ENTRYPOINT ["trustline"]
CMD ["--help"]
