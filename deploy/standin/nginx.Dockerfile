# A stand-in for compose.yaml's `nginx:1.27-bookworm`, for machines that cannot pull from Docker Hub
# (npm run verify:docker): Debian bookworm's nginx (1.22) on the stand-in base, in the foreground,
# reading /etc/nginx/nginx.conf (compose.yaml mounts deploy/nginx.compose.conf there).
ARG BASE_IMAGE
FROM ${BASE_IMAGE}
RUN apt-get update && apt-get install -y --no-install-recommends nginx && rm -rf /var/lib/apt/lists/*
EXPOSE 8080
STOPSIGNAL SIGQUIT
CMD ["nginx", "-g", "daemon off;"]
