#!/usr/bin/env bash
# The C sources follow .clang-format. Usage: test-style.sh SRCDIR
set -uo pipefail
cd "$1" || exit 1
if ! command -v clang-format >/dev/null; then
    echo "1..0 # SKIP clang-format is not installed"
    exit 77
fi
mapfile -t files < <(git ls-files '*.c' '*.h' 2>/dev/null || find daemon cli bench tests -name '*.[ch]')
bad=0
for f in "${files[@]}"; do
    if ! clang-format --dry-run --Werror "$f" >/dev/null 2>&1; then
        echo "# $f does not follow .clang-format (clang-format -i $f)"
        bad=$((bad + 1))
    fi
done
echo "1..1"
if [ "$bad" -eq 0 ]; then echo "ok 1 - ${#files[@]} files follow .clang-format"; else echo "not ok 1 - $bad files"; exit 1; fi
