#!/usr/bin/env bash
# Every benchmark, one after another (about 8 minutes on 2 cores). Each prints its figures with
# the target beside each and exits 0 whether or not a target was met; look for MISSED.
# Sizes: BENCH_SCALE=3 runs everything three times as long (see bench/README.md for the rest).
# The workers benchmark needs PostgreSQL at BENCH_POSTGRES_URL
# (default postgresql://postgres@127.0.0.1:5432/postgres); it is skipped when none answers.
set -uo pipefail
cd "$(dirname "$0")/.."

status=0
run() {
    printf '\n'
    python3 -m "bench.$1" || { echo "bench.$1 failed (exit $?)"; status=1; }
}

run startup
run click_cost
run clicks
run cold_clicks
run alert_burst
run imports
run rules
run reminders
run enrol_import
run slack_groups
run directory
run scim
run api
if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    run workers
else
    printf '\nbench.workers skipped: no PostgreSQL answers at 127.0.0.1:5432\n'
fi
exit $status
