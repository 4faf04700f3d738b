# dss-lake in one image: `dss-lake sim`, `dss-lake ingest`, `dss-lake serve` and `dss-lake demo`
# are subcommands of the same binary. docker-compose.yml runs three of them as services.

FROM rust:1-bookworm AS build
WORKDIR /src
COPY . .
# The caches keep the registry and the (large, DataFusion) target directory between builds.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/src/target \
    scripts/dist.sh /usr/local/bin
# /usr/local/bin/dss-lake.debug stays in this stage: `docker build --target build` and copy it
# next to the binary to turn a backtrace's addresses into our functions, files and lines.

FROM debian:bookworm-slim
# TLS roots are compiled in (webpki-roots), so no ca-certificates package is needed.
RUN useradd --system --uid 10001 --home-dir /lake dss-lake \
    && mkdir -p /lake && chown dss-lake /lake
COPY --from=build /usr/local/bin/dss-lake /usr/local/bin/dss-lake
USER dss-lake
WORKDIR /lake
VOLUME ["/lake"]
ENV DSS_LAKE_DIR=/lake
ENTRYPOINT ["dss-lake"]
CMD ["demo", "--listen", "0.0.0.0:8080"]
