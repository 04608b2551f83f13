#!/usr/bin/env bash
# The whole test suite (needs root for the helper and integration groups): installs what it
# needs through setup.sh, then runs style, unit, helper and integration tests. CI calls this.
set -euo pipefail
cd "$(dirname "$(readlink -f "$0")")"
./setup.sh
# setup.sh only notes a CRIU it could not install (the demo runs without it); the suite needs it:
# without it every checkpoint and migration test would skip and a broken build would land unseen
./setup-criu.sh >/dev/null || { echo "test.sh: CRIU 4.2+ could not be installed (above): checkpoint tests cannot run" >&2; exit 1; }
echo "== style: biome" >&2
npx biome ci --colors=off .
echo "== unit (core, host on fake trees, layering, error docs)" >&2
node --test dist/test/unit/ dist/test/layering.test.js dist/test/errors-documented.test.js dist/test/cli-documented.test.js
echo "== helper (berth-nsexec contract)" >&2
node --test dist/test/helper/
echo "== integration (real containers, serial)" >&2
# Node 18's runner has no --test-concurrency (it runs one file per spare core: one here)
serial=""; case "$(node --help)" in *--test-concurrency*) serial="--test-concurrency=1" ;; esac
node --test $serial dist/test/integration/
# every run, not once per change of the cgroup code: a stamp left by a local pass would let CI skip it
echo "== pure cgroup v2: berth in a QEMU guest (test/vm/README.md)" >&2
test/vm/run-v2.sh
