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

# shellcheck disable=SC2034 # the name in this step's messages, read by fail and say (lib.sh)
readonly STEP_NAME=migrate

main() {
    (($# == 2)) || fail "usage: migrate.sh DIR COMMAND, got $# arguments: build the step with components/recovery/scripts.ts"
    local dir=$1 command=$2
    enter_project "$dir"
    # The command is a shell command line from config: run it as if it were written here.
    eval "$command"
    say "migrations done: $command"
}

main "$@"
