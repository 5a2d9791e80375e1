# shellcheck shell=bash
# Usage: migrate.sh DIR COMMAND
# Summary: Run the app's migrations in the compose project, once the .env is there.
#
# Step "migrate" of the recovery chain (components/recovery/scripts.ts, migrateScript).
#
# Arguments:
#   DIR       the compose project folder in the checkout
#   COMMAND   the migration command line from config (migrateCommand), e.g.
#             docker compose run --rm api python manage.py migrate
set -euo pipefail

# fail MESSAGE: one error line that says what to do, then exit 1.
fail() {
    printf 'income-fortress migrate: error: %s\n' "$*" >&2
    exit 1
}

# say MESSAGE: one progress line.
say() {
    printf 'income-fortress migrate: %s\n' "$*"
}

# enter_project DIR: cd into the compose project, which must hold the .env by now.
enter_project() {
    local dir=$1
    cd -- "$dir" || fail "$dir does not exist: user-data did not check out the app; replace the droplet"
    [[ -f .env ]] || fail "$dir/.env is missing: the secrets step must run first"
}

main() {
    (($# == 2)) || fail "usage: migrate.sh DIR COMMAND, got $# arguments: build the step with components/recovery/scripts.ts"
    local dir=$1 command=$2
    enter_project "$dir"
    # The command is a shell command line from config: run it as if it were written here.
    eval "$command"
    say "migrations done: $command"
}

main "$@"
