#!/usr/bin/env bash
# Builds the two packages of mfa-exec under target/package/:
#
#   mfa-exec_VERSION-1_ARCH.deb              (cargo-deb, metadata in Cargo.toml)
#   mfa-exec-VERSION-ARCH-OS.tar.gz          (the same files, laid out as a PREFIX)
#
# Both hold the release binary, the man page (gzipped, man1), completions for
# bash, zsh and fish in their vendor directories, README, CHANGELOG and both
# licence texts under share/doc/mfa-exec/.
#
#   scripts/package.sh            # builds the release binary first
#   MFA_EXEC_PACKAGE_NO_BUILD=1 scripts/package.sh   # reuse target/release/mfa-exec
#
# cargo-deb comes from crates.io, installed once (--locked) under
# target/tools (CARGO_DEB=/path/to/cargo-deb uses another one). The .deb is
# built only where dpkg exists (Debian and derivatives); the tarball everywhere.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
target=${CARGO_TARGET_DIR:-$root/target}
case "$target" in /*) ;; *) target=$root/$target ;; esac
out=$target/package
version=$(sed -n 's/^version = "\(.*\)"$/\1/p' Cargo.toml | head -1)
CARGO_DEB_VERSION=3.8.0

if [[ "${MFA_EXEC_PACKAGE_NO_BUILD:-}" != 1 ]]; then
    echo "package: cargo build --release" >&2
    cargo build --release --locked
fi
bin=$target/release/mfa-exec
[[ -x "$bin" ]] || { echo "package: no release binary at $bin" >&2; exit 1; }
mkdir -p "$out"

# --- tarball -----------------------------------------------------------------
os=$(uname -s | tr '[:upper:]' '[:lower:]')
arch=$(uname -m)
name=mfa-exec-$version-$arch-$os
stage=$out/$name
rm -rf "$stage"
install -Dm755 "$bin" "$stage/bin/mfa-exec"
install -d "$stage/share/man/man1"
gzip -9n <man/mfa-exec.1 >"$stage/share/man/man1/mfa-exec.1.gz"
install -Dm644 completions/mfa-exec.bash "$stage/share/bash-completion/completions/mfa-exec"
install -Dm644 completions/_mfa-exec "$stage/share/zsh/site-functions/_mfa-exec"
install -Dm644 completions/mfa-exec.fish "$stage/share/fish/vendor_completions.d/mfa-exec.fish"
for f in README.md CHANGELOG.md LICENSE-MIT LICENSE-APACHE; do
    install -Dm644 "$f" "$stage/share/doc/mfa-exec/$f"
done
tar -C "$out" --owner=0 --group=0 --numeric-owner -czf "$out/$name.tar.gz" "$name"
rm -rf "$stage"
echo "package: $out/$name.tar.gz" >&2

# --- .deb --------------------------------------------------------------------
if ! command -v dpkg >/dev/null; then
    echo "package: no dpkg here; the .deb is built on Debian" >&2
    exit 0
fi
cargo_deb=${CARGO_DEB:-}
if [[ -z "$cargo_deb" ]]; then
    cargo_deb=$target/tools/bin/cargo-deb
    if [[ ! -x "$cargo_deb" ]] || ! "$cargo_deb" --version 2>/dev/null | grep -q "$CARGO_DEB_VERSION"; then
        echo "package: cargo install cargo-deb $CARGO_DEB_VERSION (once)" >&2
        cargo install --quiet --locked --version "$CARGO_DEB_VERSION" --root "$target/tools" cargo-deb
    fi
fi
"$cargo_deb" --no-build --no-strip --output "$out" >&2
ls "$out"/*.deb
