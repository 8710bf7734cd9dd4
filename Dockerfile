# The securequeue operator image: built with the Rust toolchain, run from distroless static
# (CA certificates, no shell, no package manager) as a non-root numeric user.

FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY Cargo.toml Cargo.lock ./
COPY src ./src
RUN cargo build --release --locked --bin securequeue \
    && strip target/release/securequeue

# glibc, CA certificates and nothing else: the binary links glibc dynamically.
FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=build /src/target/release/securequeue /usr/local/bin/securequeue
USER 65532:65532
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/securequeue"]
CMD ["run"]
