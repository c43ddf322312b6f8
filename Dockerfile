# Portcullis container image: a static binary on an empty base (no shell, no
# package manager), run as a numeric non-root user. The root filesystem can be
# mounted read-only: the gateway writes nothing to disk. No HEALTHCHECK: the
# orchestrator probes /healthz and /readyz on the admin listener.
#
#   docker build --build-arg VERSION=$(git describe --tags --always) -t portcullis .
#
# Without a daemon, `make image` writes the same image as an OCI archive
# (tools/image; a test keeps the two in agreement).

FROM --platform=$BUILDPLATFORM golang:1.26 AS build
WORKDIR /src
COPY go.mod go.sum ./
RUN go mod download
COPY . .
ARG VERSION=dev
ARG TARGETOS=linux
ARG TARGETARCH
RUN CGO_ENABLED=0 GOOS=$TARGETOS GOARCH=$TARGETARCH \
    go build -trimpath -ldflags "-s -w -X main.version=${VERSION}" -o /out/portcullis ./cmd/portcullis

FROM scratch
COPY --from=build /etc/ssl/certs/ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
COPY --from=build /src/LICENSE /src/NOTICE /usr/share/doc/portcullis/
COPY --from=build /out/portcullis /usr/local/bin/portcullis
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt
USER 65532:65532
EXPOSE 8080 9090
ENTRYPOINT ["/usr/local/bin/portcullis"]
CMD ["serve", "-c", "/etc/portcullis/portcullis.yaml"]
