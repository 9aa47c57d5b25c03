#!/bin/sh
# Run the graph builder's tests against an AddressSanitizer + UndefinedBehaviorSanitizer build
# of forensics/_edges.c and _edges_sum.c (the activity graph's per-edge sums and attribute
# dicts): the C and the Python ways held to each other, bad buffers, reference counts, and
# whole graphs of traces.
#
#   bash bench/edges_asan.sh            # from the repository, after the README's install
set -eu
exec sh "$(dirname "$0")/asan.sh" _edges -- tests/test_graphbuild.py tests/test_graph.py "$@"
