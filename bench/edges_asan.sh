#!/bin/sh
# Run the graph builder's tests against an AddressSanitizer + UndefinedBehaviorSanitizer build
# of forensics/_edges.c (the activity graph's per-edge sums and attribute dicts): the C and the
# Python ways held to each other, bad buffers, reference counts, and whole graphs of traces.
#
#   bash bench/edges_asan.sh            # from the repository, after the README's install
set -eu
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
INC=$($PY -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
EXT=$($PY -c 'import sysconfig; print(sysconfig.get_config_var("EXT_SUFFIX"))')
gcc -std=c99 -Wall -Wextra -Wpedantic -Wshadow -Wconversion -Wno-sign-conversion -Werror \
    -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined \
    -fPIC -shared -I"$INC" forensics/_edges.c -o "$OUT/_edges$EXT"
# tests/conftest.py puts this directory first on forensics' path: the sanitizer build is imported
export FORENSICS_CTDECODE_BUILD="$OUT"
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1:strict_string_checks=1:detect_stack_use_after_return=1
export UBSAN_OPTIONS=halt_on_error=1:print_stacktrace=1
export PYTHONMALLOC=malloc
LD_PRELOAD="$(gcc -print-file-name=libasan.so) $(gcc -print-file-name=libubsan.so)" \
    $PY -m pytest -q -p no:cacheprovider tests/test_graphbuild.py tests/test_graph.py "$@"
