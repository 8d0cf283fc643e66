#!/usr/bin/env bash
# Builds the crfs inflater (C, this directory) into two wasm32 modules:
#   inflate.wasm         exports its own memory: main thread and library users
#   inflate-shared.wasm  imports a shared memory (env.memory): worker threads inflating straight into
#                        the SharedArrayBuffer block cache
# Deterministic: the test suite rebuilds both and checks they are byte-identical to the committed ones.
# Usage: bash wasm/build.sh [OUTDIR]   (default: wasm/)
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$here}"
CLANG="${CLANG:-clang-14}"
SRC=("$here/inflate.c" "$here/huffman.c" "$here/crc32.c")
CFLAGS=(--target=wasm32-unknown-unknown -O3 -msimd128 -mbulk-memory -nostdlib -ffreestanding
  -fno-ident -Wall -Wextra -Werror -ffile-prefix-map="$here"=wasm)
LD="${LD:-wasm-ld-14}"
LDFLAGS=(--no-entry --export=__heap_base -z stack-size=4096 --strip-all)
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
# Compile and link in separate steps: the clang driver would run any wasm-opt on PATH without the
# feature flags it needs.
build() { # NAME EXTRA_CFLAGS... -- EXTRA_LDFLAGS...
  local name="$1" objs=() cflags=() ldflags=()
  shift
  while [ "$#" -gt 0 ] && [ "$1" != -- ]; do cflags+=("$1"); shift; done
  [ "$#" -gt 0 ] && shift
  ldflags=("$@")
  for src in "${SRC[@]}"; do
    local obj="$tmp/$name-$(basename "$src" .c).o"
    "$CLANG" "${CFLAGS[@]}" ${cflags[@]+"${cflags[@]}"} -c -o "$obj" "$src"
    objs+=("$obj")
  done
  "$LD" "${LDFLAGS[@]}" ${ldflags[@]+"${ldflags[@]}"} -o "$tmp/$name.wasm" "${objs[@]}"
}
build inflate
build inflate-shared -matomics -- --import-memory --shared-memory --max-memory=4294967296
# The modules keep no stack frames in linear memory (all state is in the caller's slot), which is what
# lets many threads share one memory without per-thread stacks: fail the build if that ever changes.
if command -v wasm-dis >/dev/null; then
  for m in inflate inflate-shared; do
    if wasm-dis "$tmp/$m.wasm" | grep -q 'global\.[gs]et \$global\$0'; then
      echo "build.sh: $m.wasm uses the linear-memory stack; keep locals out of memory" >&2
      exit 1
    fi
  done
fi
cp "$tmp/inflate.wasm" "$tmp/inflate-shared.wasm" "$out/"
