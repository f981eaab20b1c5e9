#!/bin/bash
# tests/lint.sh - the static checks STYLE.md promises, over src/, ws/,
# tests/unit/ and tests/fuzz/:
#   cppcheck (warning, style, performance, portability), any finding fails;
#   clang-format --dry-run --Werror with the project's .clang-format.
# Installs cppcheck and clang-format when missing (as root).  Prints every
# finding, then "lint: cppcheck N findings, clang-format N files"; the exit
# status is the truth.
set -uo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
cd "$ROOT" || exit 2

need=()
command -v cppcheck >/dev/null || need+=(cppcheck)
command -v clang-format >/dev/null || need+=(clang-format)
if ((${#need[@]})); then
    ((EUID == 0)) || { echo "lint: missing ${need[*]} (run as root to install)" >&2; exit 2; }
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${need[@]}" >/dev/null \
        || { echo "lint: apt-get install ${need[*]} failed" >&2; exit 2; }
fi

mapfile -t files < <(git ls-files 'src/*.c' 'src/*.h' 'ws/*.c' 'ws/*.h' \
    'tests/unit/*.c' 'tests/fuzz/*.c' 2>/dev/null || find src ws tests/unit tests/fuzz -name '*.[ch]')
mapfile -t cfiles < <(printf '%s\n' "${files[@]}" | grep '\.c$')

# cppcheck: config.h comes from configure; give it the source tree only
out=$(cppcheck -q --enable=warning,style,performance,portability --std=c11 \
    --library="$ROOT/tests/lint/yiqikan.cfg" -I src -I . -D__GNUC__ -D_GNU_SOURCE \
    --inline-suppr --suppress=missingIncludeSystem --suppress=missingInclude \
    --template='{file}:{line}: {severity}: {message} [{id}]' "${cfiles[@]}" 2>&1 |
    grep -E '^[^ ].*:[0-9]+: ' || true)
ncpp=0
if [[ -n $out ]]; then
    echo "$out"
    ncpp=$(echo "$out" | wc -l)
fi

nfmt=0
for f in "${files[@]}"; do
    if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
        echo "$f: not formatted as .clang-format says (clang-format -i $f)"
        nfmt=$((nfmt + 1))
    fi
done
echo "lint: cppcheck $ncpp findings, clang-format $nfmt files"
((ncpp == 0 && nfmt == 0))
