# tessera: one static-ish binary on a slim Debian base.
#   docker build -t tessera .
#   docker run -p 5121:5121 -v tessera-data:/data tessera
FROM rust:1-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs buf.yaml ./
COPY proto proto
COPY migrations migrations
COPY src src
COPY benches benches
RUN cargo build --release --locked --bin tessera

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /data tessera \
 && mkdir -p /data && chown tessera /data
COPY --from=build /src/target/release/tessera /usr/local/bin/tessera
USER tessera
ENV TESSERA_LISTEN=0.0.0.0:5121 \
    TESSERA_DATA_DIR=/data
VOLUME ["/data"]
EXPOSE 5121
HEALTHCHECK --interval=5s --timeout=3s CMD ["/bin/bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/5121"]
ENTRYPOINT ["/usr/local/bin/tessera"]
CMD ["serve"]
