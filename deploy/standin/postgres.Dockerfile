# A stand-in for compose.yaml's `postgres:16-bookworm`, for machines that cannot pull from Docker Hub
# (npm run verify:docker; docs/deploy.md#how-far-this-was-verified). Debian bookworm's PostgreSQL 15
# on the stand-in base, with the official image's contract as compose.yaml uses it: POSTGRES_USER,
# POSTGRES_PASSWORD and POSTGRES_DB create the role and database on first start, the data directory
# is /var/lib/postgresql/data, password authentication over the network, pg_isready on the PATH.
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update && apt-get install -y --no-install-recommends postgresql-15 && rm -rf /var/lib/apt/lists/*
COPY postgres-entrypoint.sh /usr/local/bin/postgres-entrypoint.sh
ENV PATH=/usr/lib/postgresql/15/bin:$PATH
EXPOSE 5432
STOPSIGNAL SIGINT
ENTRYPOINT ["/usr/local/bin/postgres-entrypoint.sh"]
