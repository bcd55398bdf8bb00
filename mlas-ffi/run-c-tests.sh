#!/usr/bin/env bash
# The C side of libmlas, as CI and developers run it:
#   1. builds libmlas (debug: fastest on a 2-core CI, and valgrind gets symbols),
#   2. checks the SONAME and stages the library as an install would lay it out,
#   3. compiles examples/c/runbook.c and mlas-ffi/tests/c/*.c with
#      -std=c11 -Wall -Wextra -Wpedantic -Werror against include/mlas.h,
#   4. runs each under valgrind (no errors, no definite or indirect leaks),
#   5. links the example statically against libmlas.a once,
#   6. compiles every program again with -fsanitize=address,undefined against
#      libmlas.a and runs it (the C side is instrumented, the Rust library is
#      not; ASan's allocator and leak checker still see every allocation),
#   7. checks that mlas.h also compiles as C and as C++,
#   8. checks the C sources with clang-format (mlas-ffi/.clang-format, installed
#      from apt when missing); MLAS_SKIP_FORMAT=1 skips it.
set -euo pipefail

here="$(cd "$(dirname "$0")" && pwd)"
root="$(cd "$here/.." && pwd)"
cd "$root"

CC="${CC:-gcc}"
CXX="${CXX:-g++}"
CARGO="${CARGO:-cargo}"
target_dir="${CARGO_TARGET_DIR:-$root/target}"
profile_dir="$target_dir/debug"
out="$target_dir/c-tests"
cflags=(-std=c11 -Wall -Wextra -Wpedantic -Werror -g -I"$here/include")

# The tools come from apt on a fresh machine (CI runs as root).
install_tool() {
    local command="$1" package="$2"
    if ! command -v "$command" >/dev/null 2>&1; then
        echo "$command is missing; installing $package"
        apt-get install -y "$package" >/dev/null 2>&1 || {
            apt-get update >/dev/null
            apt-get install -y "$package" >/dev/null
        }
    fi
}
install_tool valgrind valgrind
if [ "${MLAS_SKIP_FORMAT:-0}" != 1 ]; then
    install_tool clang-format clang-format
fi

echo "== building libmlas"
"$CARGO" build -p mlas-ffi --quiet

soname="$(readelf -d "$profile_dir/libmlas.so" | sed -n 's/.*Library soname: \[\(.*\)\].*/\1/p')"
if [ "$soname" != "libmlas.so.0" ]; then
    echo "libmlas.so has SONAME '$soname', expected libmlas.so.0" >&2
    exit 1
fi

rm -rf "$out"
mkdir -p "$out/lib"
cp "$profile_dir/libmlas.so" "$out/lib/libmlas.so.0"
ln -s libmlas.so.0 "$out/lib/libmlas.so"
ldflags=(-L"$out/lib" -lmlas -Wl,-rpath,"$out/lib" -pthread)
# What `rustc --print native-static-libs` lists for libmlas.a on Linux (also
# in mlas.pc as Libs.private).
static_libs=(-lgcc_s -lutil -lrt -lpthread -lm -ldl -lc)

echo "== header compiles as C11 and as C++"
"$CC" "${cflags[@]}" -fsyntax-only -x c "$here/include/mlas.h"
"$CXX" -std=c++11 -Wall -Wextra -Wpedantic -Werror -fsyntax-only -x c++ "$here/include/mlas.h"

programs=("$root/examples/c/runbook.c" "$here"/tests/c/*.c)
failed=0
passed=0
for source in "${programs[@]}"; do
    name="$(basename "$source" .c)"
    "$CC" "${cflags[@]}" "$source" -o "$out/$name" "${ldflags[@]}"
    echo "== $name (valgrind)"
    if valgrind --quiet --error-exitcode=1 --leak-check=full \
        --errors-for-leak-kinds=definite,indirect "$out/$name" "$out/$name.db" >"$out/$name.log" 2>&1; then
        passed=$((passed + 1))
        tail -n 1 "$out/$name.log"
    else
        failed=$((failed + 1))
        echo "FAILED: $name; its output:" >&2
        cat "$out/$name.log" >&2
    fi
done

echo "== runbook linked statically"
"$CC" "${cflags[@]}" "$root/examples/c/runbook.c" -o "$out/runbook-static" \
    "$profile_dir/libmlas.a" "${static_libs[@]}"
if "$out/runbook-static" >/dev/null; then
    passed=$((passed + 1))
else
    failed=$((failed + 1))
    echo "FAILED: the statically linked runbook" >&2
fi

# AddressSanitizer and UBSan on the C side, linked against the static library
# (the sanitizer runtime then comes first without LD_PRELOAD). Valgrind and
# ASan cannot run together, hence a second build of each program.
sanitize=(-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined)
export ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="halt_on_error=1:print_stacktrace=1"
for source in "${programs[@]}"; do
    name="$(basename "$source" .c)"
    "$CC" "${cflags[@]}" "${sanitize[@]}" "$source" -o "$out/$name-asan" \
        "$profile_dir/libmlas.a" "${static_libs[@]}"
    echo "== $name (ASan + UBSan)"
    if "$out/$name-asan" "$out/$name-asan.db" >"$out/$name-asan.log" 2>&1; then
        passed=$((passed + 1))
        tail -n 1 "$out/$name-asan.log"
    else
        failed=$((failed + 1))
        echo "FAILED: $name under ASan; its output:" >&2
        cat "$out/$name-asan.log" >&2
    fi
done

if [ "${MLAS_SKIP_FORMAT:-0}" = 1 ]; then
    echo "== clang-format: skipped (MLAS_SKIP_FORMAT=1)"
else
    echo "== clang-format"
    sources=("$root"/examples/c/*.c "$here"/tests/c/*.c "$here"/tests/c/*.h)
    if clang-format --style=file:"$here/.clang-format" --dry-run --Werror "${sources[@]}"; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "FAILED: clang-format; fix with: clang-format -i --style=file:mlas-ffi/.clang-format ${sources[*]#"$root"/}" >&2
    fi
fi

echo "c-tests: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
