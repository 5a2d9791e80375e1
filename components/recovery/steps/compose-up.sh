# shellcheck shell=bash
# Usage: compose-up.sh DIR
# Summary: docker compose up -d in the pinned checkout, then print the services' states.
#
# Step "compose" of the recovery chain (components/recovery/scripts.ts, composeUpScript).
# User-data checked out the pinned ref; this step builds and starts what it holds.
#
# Arguments:
#   DIR   the compose project folder in the checkout
set -euo pipefail

# fail MESSAGE: one error line that says what to do, then exit 1.
fail() {
    printf 'income-fortress compose: error: %s\n' "$*" >&2
    exit 1
}

# say MESSAGE: one progress line.
say() {
    printf 'income-fortress compose: %s\n' "$*"
}

# enter_project DIR: cd into the compose project, which must hold the .env by now.
enter_project() {
    local dir=$1
    cd -- "$dir" || fail "$dir does not exist: user-data did not check out the app; replace the droplet"
    [[ -f .env ]] || fail "$dir/.env is missing: the secrets step must run first"
}

main() {
    (($# == 1)) || fail "usage: compose-up.sh DIR, got $# arguments: build the step with components/recovery/scripts.ts"
    local dir=$1
    enter_project "$dir"
    say "starting $(git -C "$dir" describe --tags --always 2>/dev/null || echo 'the checkout')"
    docker compose up -d --build --remove-orphans
    docker compose ps
}

main "$@"
