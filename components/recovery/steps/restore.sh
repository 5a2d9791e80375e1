# shellcheck shell=bash
# Usage: restore.sh MODE (--backup ID|latest | --before ISO_TIME) [ENDPOINT BUCKET PREFIX]
# Summary: Restore the database with fortress-restore, as the stack's restoreMode says.
#
# Step "restore" of the recovery chain (components/recovery/scripts.ts, restoreScript).
#
# Arguments:
#   MODE       if-empty (a primary stack): restore only into an empty database; a database
#                with tables is left untouched (fortress-restore exit 4), so a rebuilt
#                droplet never overwrites live data, and no backup at all means a first
#                deploy: nothing to restore.
#              required (a dr stack): a backup must exist and be restored; a database that
#                already has tables (a second run after a droplet replacement) is left
#                untouched.
#              off: only report (for example while a point-in-time fork is the database).
#   --backup ID|latest, --before ISO_TIME
#              which backup, passed to fortress-restore as they are
#   ENDPOINT BUCKET PREFIX
#              read this bucket (a dr stack: the primary stack's vault) instead of the
#              buckets in the host's backup.env: passed as the offsite settings in the
#              environment, which wins over backup.env. None of them is a secret.

# shellcheck disable=SC2034 # the name in this step's messages, read by fail and say (lib.sh)
readonly STEP_NAME=restore

# Where the backups come from, set by read_source.
SOURCE=auto
SOURCE_ENV=()
FROM="the buckets in /etc/income-fortress/backup.env"

# read_source [ENDPOINT BUCKET PREFIX]: the vault to read instead of backup.env's buckets.
read_source() {
    (($# == 3)) || return 0
    local endpoint=$1 bucket=$2 prefix=$3
    SOURCE=offsite
    SOURCE_ENV=("BACKUP_OFFSITE_S3_ENDPOINT=$endpoint" "BACKUP_OFFSITE_BUCKET=$bucket" "BACKUP_PREFIX=$prefix")
    FROM="s3://$bucket/$prefix"
}

# toolkit COMMAND ARG...: a toolkit command as root, reading the backups from the source.
toolkit() {
    local command=$1
    shift
    sudo "${SOURCE_ENV[@]}" "$command" --source "$SOURCE" "$@"
}

# stop_if_no_backup: end the step when no backup exists yet. A first deploy has none and
# must not fail; say so loudly, because the same state after losing the database means
# the backups are gone too.
stop_if_no_backup() {
    local count
    count=$(toolkit fortress-backups --json --limit 1 | jq length) || fail "cannot list the backups in $FROM; see the error above"
    if [[ $count == 0 ]]; then
        say "no backup exists in $FROM yet (a first deploy): nothing to restore. If this database was lost, stop here and restore by hand from another copy."
        exit 0
    fi
}

main() {
    (($# == 3 || $# == 6)) || fail "usage: restore.sh MODE --backup ID|--before TIME [ENDPOINT BUCKET PREFIX], got $# arguments: build the step with components/recovery/scripts.ts"
    local mode=$1 which=$2 choice=$3 rc=0
    shift 3
    case $which in
        --backup | --before) ;;
        *) fail "unknown backup choice $which: use --backup or --before" ;;
    esac
    read_source "$@"
    case $mode in
        off)
            say "restore is off for this stack (config restoreMode off); the database is left as it is"
            return 0
            ;;
        if-empty) stop_if_no_backup ;;
        required) ;;
        *) fail "unknown restore mode $mode: use if-empty, required or off (config restoreMode)" ;;
    esac
    toolkit fortress-restore "$which" "$choice" || rc=$?
    case $rc in
        0) say "restored the database from $FROM" ;;
        4) say "the database already has tables, so it was left untouched (a restore only fills an empty database; to replace data run fortress-restore --force on the host)" ;;
        *) fail "fortress-restore exited $rc (2 settings, 3 integrity, 1 other; see its error above); nothing after the restore ran" ;;
    esac
}

main "$@"
