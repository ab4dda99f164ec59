# syntax=docker/dockerfile:1
#
# Switchboard container images, from one build stage:
#
#   docker build -t switchboard .                          # the switchboard binary (default target)
#   docker build --target chat -t switchboard-chat .       # the example chat service (examples/chat)
#
# docker-compose.yml builds both. Both binaries are static (CGO_ENABLED=0).
#
# Base image: alpine, not distroless. The images carry a HEALTHCHECK, and the
# binaries have no HTTP probe command of their own, so the check needs an HTTP
# client: busybox wget (and the chat image's check needs a shell). alpine costs
# about 8 MB over distroless/static for that; both run as a non-root user.

ARG GO_VERSION=1.26
ARG ALPINE_VERSION=3.22

# ---- build: both binaries, for the target platform, on the build platform ----
FROM --platform=$BUILDPLATFORM golang:${GO_VERSION} AS build
WORKDIR /src
ENV CGO_ENABLED=0 GOFLAGS=-trimpath
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
ARG TARGETOS TARGETARCH
# VERSION is what 'switchboard version' prints (default: "devel").
ARG VERSION=""
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build \
    GOOS=$TARGETOS GOARCH=$TARGETARCH go build -ldflags="-s -w -X main.version=${VERSION}" -o /out/switchboard ./cmd/switchboard && \
    GOOS=$TARGETOS GOARCH=$TARGETARCH go build -ldflags="-s -w" -o /out/chat ./examples/chat

# ---- chat: the example service (docker build --target chat) ----
FROM alpine:${ALPINE_VERSION} AS chat
COPY --from=build /out/chat /usr/local/bin/chat
USER 10001:10001
# The service prints READY on stdout once its NATS subscriptions are in place
# (its logs go to stderr): stdout goes to a file the health check reads.
# Arguments after the image name are chat's flags (--nats-url, --ns, --prefix, --queue).
ENTRYPOINT ["/bin/sh", "-c", "exec chat \"$@\" >/tmp/chat.stdout", "chat"]
HEALTHCHECK --interval=5s --timeout=2s --start-period=10s --retries=3 \
    CMD grep -qx READY /tmp/chat.stdout || exit 1

# ---- switchboard: the server and the command-line tools (default target) ----
FROM alpine:${ALPINE_VERSION} AS switchboard
COPY --from=build /out/switchboard /usr/local/bin/switchboard
USER 10001:10001
# Socket.IO (and, without --admin-addr, /healthz, /readyz, /metrics).
EXPOSE 3000
ENTRYPOINT ["switchboard"]
# 'docker run -p 3000:3000 switchboard' runs the one-process dev mode; the
# cluster runs 'edge' (see docker-compose.yml). The embedded NATS of dev
# stays inside the container.
CMD ["dev"]
# Checks the default --addr. A container serving /readyz elsewhere
# (--admin-addr) sets its own check, as docker-compose.yml does.
HEALTHCHECK --interval=5s --timeout=2s --start-period=10s --retries=3 \
    CMD wget -q -O /dev/null http://127.0.0.1:3000/readyz || exit 1
