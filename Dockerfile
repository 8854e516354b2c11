# Production image: the service only (no test tools). Data lives in /app/data (mount a volume).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
WORKDIR /app

COPY pyproject.toml README.md ./
COPY app ./app
COPY migrations ./migrations
RUN pip install --no-compile -e . && useradd --create-home --uid 10001 airdate \
    && mkdir -p /app/data && chown airdate /app/data

USER airdate
EXPOSE 8000
HEALTHCHECK --interval=30s --timeout=3s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8000/healthz').status != 200)"
CMD ["sh", "-c", "airdate migrate && airdate serve --host 0.0.0.0 --port 8000"]
