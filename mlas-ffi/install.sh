#!/usr/bin/env bash
# Builds libmlas in release mode and installs it under PREFIX (default
# /usr/local):
#   PREFIX/include/mlas.h
#   PREFIX/lib/libmlas.so.0 (the SONAME), libmlas.so -> libmlas.so.0, libmlas.a
#   PREFIX/lib/pkgconfig/mlas.pc
# Usage: PREFIX=/opt/mlas mlas-ffi/install.sh   (or: make install-c PREFIX=...)
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
prefix="${PREFIX:-/usr/local}"
cargo="${CARGO:-cargo}"
target_dir="${CARGO_TARGET_DIR:-$root/target}"

(cd "$root" && "$cargo" build -p mlas-ffi --release --quiet)
version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$root/Cargo.toml" | head -n 1)"

install -d "$prefix/include" "$prefix/lib/pkgconfig"
install -m 0644 "$here/include/mlas.h" "$prefix/include/mlas.h"
install -m 0755 "$target_dir/release/libmlas.so" "$prefix/lib/libmlas.so.0"
ln -sf libmlas.so.0 "$prefix/lib/libmlas.so"
install -m 0644 "$target_dir/release/libmlas.a" "$prefix/lib/libmlas.a"
sed -e "s|@PREFIX@|$prefix|" -e "s|@VERSION@|$version|" "$here/mlas.pc.in" \
    >"$prefix/lib/pkgconfig/mlas.pc"
echo "installed libmlas $version under $prefix"
