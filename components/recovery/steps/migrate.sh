# shellcheck shell=bash
# Usage: migrate.sh DIR COMMAND TAG
# Summary: Back up a database that has tables, then run the app's migrations in the compose project.
#
# Step "migrate" of the recovery chain (components/recovery/scripts.ts, migrateScript).
#
# Arguments:
#   DIR       the compose project folder in the checkout
#   COMMAND   the migration command line from config (migrateCommand), e.g.
#             docker compose run --rm api python manage.py migrate
#   TAG       the tag of the backup taken first (pre-migrate-<appRef>, config/rules.ts
#             preMigrateTag)

# shellcheck disable=SC2034 # the name in this step's messages, read by fail and say (lib.sh)
readonly STEP_NAME=migrate

# backup_first TAG: the runbook's pre-deployment backup, taken with fortress-backup into the
# host's buckets before any migration touches the data. A database without tables (a first
# deploy with no backup to restore) holds nothing a migration could lose: no backup then.
backup_first() {
    local tag=$1 id
    # The hourly timer's backup may hold the host's backup lock: wait for it, within the
    # step's 60 minutes (components/recovery/index.ts).
    id=$(sudo fortress-backup --tag "$tag" --unless-empty --wait-lock 1800) ||
        fail "the backup before the migrations failed (fortress-backup exited $?; its error is above), so the migrations did not run: fix the backup, then run pulumi up again"
    if [[ -z $id ]]; then
        say "no backup before the migrations: the database has no tables yet (a first deploy with no backup to restore), so a migration cannot lose data"
    else
        say "backup $id taken before the migrations; to undo them: sudo fortress-restore --backup $id --force"
    fi
}

main() {
    (($# == 3)) || fail "usage: migrate.sh DIR COMMAND TAG, got $# arguments: build the step with components/recovery/scripts.ts"
    local dir=$1 command=$2 tag=$3
    enter_project "$dir"
    backup_first "$tag"
    # The command is a shell command line from config: run it as if it were written here.
    eval "$command"
    say "migrations done: $command"
}

main "$@"
