# syntax=docker/dockerfile:1
# The securequeue operator image: built with the Rust toolchain, run from distroless cc (glibc,
# CA certificates, no shell, no package manager) as a non-root numeric user.
#   docker build -t REGISTRY/securequeue:TAG --build-arg SOURCE_COMMIT="$(git rev-parse HEAD)" .

FROM rust:1.95-bookworm AS build
# cargo-auditable embeds the binary's dependency tree (section .dep-v0), which Trivy, Grype and
# Syft read. Crates, like the build's, come from the cache mounts, which outlive the build.
ARG CARGO_AUDITABLE_VERSION=0.7.7
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    cargo install --locked cargo-auditable --version "${CARGO_AUDITABLE_VERSION}"
WORKDIR /src
COPY Cargo.toml Cargo.lock build.rs ./
COPY src ./src
# The commit `securequeue --version` names (build.rs reads it): the context has no .git.
ARG SOURCE_COMMIT=""
# target/ is a cache mount too, so that a rebuild compiles only what changed; the binary is
# copied out of it in the same step.
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target,id=securequeue-target,sharing=locked \
    cargo auditable build --release --locked --bin securequeue \
    && cp target/release/securequeue /usr/local/bin/securequeue \
    && strip /usr/local/bin/securequeue

# glibc, CA certificates and nothing else: the binary links glibc dynamically.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /usr/local/bin/securequeue /usr/local/bin/securequeue
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/securequeue"]
CMD ["run"]
