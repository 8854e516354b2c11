# Production image: the service only (no test tools), installed from a wheel with pinned, hashed
# dependencies. Data lives in /app/data (mount a volume there). Built by Docker's legacy builder too:
# no `# syntax=` line, no RUN --mount, no heredocs.
#
# BASE is python:3.11-slim pinned by digest (bookworm, 3.11.7, the Python the tests run on). The digest
# was read from a public Dockerfile, not checked against Docker Hub from here; to move it, run
# `docker buildx imagetools inspect python:3.11-slim-bookworm` and paste the new digest. CI passes a
# stand-in built from Debian packages (scripts/standin-image.sh python) because it reaches no registry.
ARG BASE=python:3.11.7-slim-bookworm@sha256:8f64a67710f3d981cf3008d6f9f1dbe61accd7927f165f4e37ea3f8b883ccc3f

# --- deps: the locked dependencies in a virtualenv. Changes only when requirements.lock does, so a
# code change rebuilds nothing here and downloads nothing.
FROM ${BASE} AS deps
# A directory in the build context holding the wheels of requirements.lock (`pip download`): when
# set, nothing is fetched from the network; when not, pip fetches from PyPI. Hashes are checked
# either way.
ARG WHEELHOUSE
ENV PIP_DISABLE_PIP_VERSION_CHECK=1 PIP_NO_CACHE_DIR=1 PIP_ROOT_USER_ACTION=ignore
RUN python -m venv /opt/venv
# Without WHEELHOUSE this copies the lock file twice, which is harmless: COPY needs a source.
COPY requirements.lock ${WHEELHOUSE:-requirements.lock} /tmp/wheels/
RUN if [ -n "${WHEELHOUSE}" ]; then set -- --no-index --find-links /tmp/wheels; fi \
    && /opt/venv/bin/pip install --require-hashes --no-deps --compile "$@" -r /tmp/wheels/requirements.lock \
    && rm -rf /tmp/wheels

# --- wheel: the project built as a wheel (templates, static files and migrations inside), with the
# locked setuptools, offline.
FROM deps AS wheel
WORKDIR /src
COPY pyproject.toml README.md ./
COPY migrations ./migrations
COPY app ./app
RUN /opt/venv/bin/pip wheel --no-deps --no-build-isolation --no-index -w /dist .

# --- the image people run.
FROM ${BASE}
ENV PATH=/opt/venv/bin:$PATH \
    PYTHONUNBUFFERED=1 \
    PYTHONDONTWRITEBYTECODE=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    AIRDATE_DATABASE_URL=sqlite+aiosqlite:////app/data/airdate.db
# A numeric user, so an orchestrator can verify "not root" without reading /etc/passwd. /app/data
# belongs to it; a fresh named volume mounted there takes that ownership from the image.
RUN groupadd --gid 10001 airdate \
    && useradd --uid 10001 --gid 10001 --home-dir /app --no-create-home --shell /usr/sbin/nologin airdate \
    && mkdir -p /app/data && chown 10001:10001 /app/data
COPY --from=deps /opt/venv /opt/venv
COPY --from=wheel /dist/ /tmp/dist/
# Not editable: the wheel, with its bytecode compiled now (the user cannot write site-packages).
RUN pip install --no-deps --no-index --compile /tmp/dist/*.whl && rm -rf /tmp/dist

WORKDIR /app
USER 10001:10001
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
    CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz', timeout=4).status != 200)"]
# `exec` makes airdate PID 1 once the migration is done, so `docker stop`'s SIGTERM reaches uvicorn:
# it drains requests, runs the shutdown (the last poll counts are written) and exits 0 at once.
CMD ["sh", "-c", "airdate migrate && exec airdate serve --host 0.0.0.0 --port 8000"]
