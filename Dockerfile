# tracereel: the collector and the dashboard in one image (pick with the command).
#   docker build -t tracereel .
#   docker run -p 127.0.0.1:4318:4318 tracereel                          # collector, embedded chDB store
#   docker run -p 127.0.0.1:8501:8501 tracereel tracereel dashboard ...  # dashboard
# docker-compose.yml runs both against a ClickHouse server; see docs/production.md.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1

WORKDIR /src
# The checkout minus .dockerignore (tests, docs, bench, ...): a new package folder needs no edit here.
COPY . ./
# The server parts only: the integrations' libraries (openai, anthropic, openai-agents) belong in
# the agents' own environments, not in the collector's image.
RUN pip install ".[server,dashboard,evals]" && rm -rf /src

# Run unprivileged; the embedded store (when no TRACEREEL_STORE is given) lives in its home. The
# write-ahead log's directory exists and is the user's, so a volume mounted there is writable.
RUN useradd --create-home --uid 10001 tracereel \
    && mkdir -p /var/lib/tracereel/wal && chown -R tracereel /var/lib/tracereel
USER tracereel
WORKDIR /home/tracereel

EXPOSE 4318 8501
# 0.0.0.0 inside the container; publish the port on 127.0.0.1 (or behind a proxy) outside it.
# Needs TRACEREEL_ADMIN_KEY (or keys in the store): with auth off, serve refuses a non-loopback host.
CMD ["tracereel", "serve", "--host", "0.0.0.0", "--port", "4318"]
