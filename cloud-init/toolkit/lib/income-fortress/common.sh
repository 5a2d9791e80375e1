# shellcheck shell=bash
# shellcheck disable=SC2034 # globals set here are read by the commands that source this file
#
# Shared library of the Income Fortress backup toolkit, sourced by each fortress-* command:
# exit codes, errors, settings, rclone remotes, database and manifest helpers. The object
# layout and the manifest are in docs/host-toolkit.md ("Object layout"); keep them in step.

PROG=${PROG:-$(basename "$0")}
# This library's folder: the contract and the helpers that are not bash (split-copy.pl) sit beside it.
FORTRESS_LIB_DIR=$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")

# Exit codes (EX_*), the settings folder and files, BACKUP_FORMAT and FORTRESS_SETTING_KEYS,
# generated from cloud-init/host.ts. Two search paths: this folder when shellcheck reads this
# file, ../lib/income-fortress when it follows it from a command in bin/.
# shellcheck source-path=SCRIPTDIR source-path=SCRIPTDIR/../lib/income-fortress source=contract.sh
source "$FORTRESS_LIB_DIR/contract.sh"

# Debian package that provides each command we may need, for the "missing command" error.
declare -A FORTRESS_DEP_PACKAGE=(
    [pg_dump]=postgresql-client [pg_restore]=postgresql-client [psql]=postgresql-client
    [rclone]=rclone [age]=age [zstd]=zstd [jq]=jq [flock]=util-linux
    [sha256sum]=coreutils [mkfifo]=coreutils [mktemp]=coreutils [tee]=coreutils
    [wc]=coreutils [date]=coreutils [stat]=coreutils [nproc]=coreutils [timeout]=coreutils
    [df]=coreutils [setsid]=util-linux
)

# ---------------------------------------------------------------------------------------
# Logging and errors

# Progress line to stderr (stdout is reserved for each command's result).
log() {
    printf '%s: %s\n' "$PROG" "$*" >&2
}

warn() {
    printf '%s: warning: %s\n' "$PROG" "$*" >&2
}

# die CODE MESSAGE: exit with CODE after one error line that says what to do. Once
# init_workdir set the exit trap, the trap prints it after the cleanup hooks: always last.
die() {
    local code=$1
    shift
    local message="$*"
    message=${message//$'\n'/ }
    message=${message//$'\t'/ }
    if [[ ${FORTRESS_TRAP_PID:-} == "$BASHPID" ]]; then
        FORTRESS_ERROR=$message
    else
        printf '%s: error: %s\n' "$PROG" "$message" >&2
    fi
    exit "$code"
}

usage_error() {
    die "$EX_USAGE" "$* (see $PROG --help)"
}

# Print the script's leading comment block (the "# Usage:" header) as its help text.
print_help() {
    local script line
    script=$(readlink -f "$0")
    while IFS= read -r line; do
        case $line in
            '#!'*) continue ;;
            '#') printf '\n' ;;
            '# '*) printf '%s\n' "${line#'# '}" ;;
            *) break ;;
        esac
    done <"$script"
}

# Require a value after an option: need_value OPTION "${2-}".
need_value() {
    [[ $# -ge 2 && -n $2 && $2 != --* ]] || usage_error "$1 needs a value"
}

# First informative line of a tool's captured stderr, flattened to one line.
error_summary() {
    local file=$1 line=""
    if [[ -s $file ]]; then
        line=$(grep -m1 -E -i 'error|fatal|failed|denied|refused|not found|no such' "$file" || true)
        [[ -n $line ]] || line=$(grep -v '^[[:space:]]*$' "$file" | tail -n 1 || true)
    fi
    line=${line//$'\t'/ }
    # psql prefixes errors from script files with "psql:FILE:LINE: ".
    [[ $line =~ ^psql:[^[:space:]]*:[0-9]+:\ (.*)$ ]] && line=${BASH_REMATCH[1]}
    # rclone prefixes its log lines with a local timestamp.
    [[ $line =~ ^[0-9]{4}/[0-9]{2}/[0-9]{2}\ [0-9:]{8}\ (.*)$ ]] && line=${BASH_REMATCH[1]}
    printf '%s' "${line:0:400}"
}

# With FORTRESS_DEBUG=1, copy captured tool output to stderr before an error line.
debug_dump() {
    [[ ${FORTRESS_DEBUG:-0} == 1 ]] || return 0
    local file
    for file in "$@"; do
        [[ -s $file ]] || continue
        printf '%s: debug: --- %s ---\n' "$PROG" "$(basename "$file")" >&2
        cat "$file" >&2
    done
}

# ---------------------------------------------------------------------------------------
# Dependencies

# check_dependencies CMD...: exit 2 naming every missing command and its Debian package.
check_dependencies() {
    local cmd package missing=() packages=()
    for cmd in "$@"; do
        if ! command -v "$cmd" >/dev/null 2>&1; then
            missing+=("$cmd")
            package=${FORTRESS_DEP_PACKAGE[$cmd]:-$cmd}
            [[ " ${packages[*]} " == *" $package "* ]] || packages+=("$package")
        fi
    done
    if ((${#missing[@]})); then
        die "$EX_USAGE" "missing command(s) on PATH: ${missing[*]}: install the Debian package(s) ${packages[*]} (apt-get install ${packages[*]})"
    fi
}

# ---------------------------------------------------------------------------------------
# Settings

is_setting_key() {
    local key=$1 known
    [[ $key == RCLONE_* ]] && return 0
    for known in "${FORTRESS_SETTING_KEYS[@]}"; do
        [[ $key == "$known" ]] && return 0
    done
    return 1
}

# read_settings_file FILE ENV_KEYS_NAME: set each KEY=value line of FILE (optional `export `
# and quotes around the value, `#` comments) unless the environment has it. Data, never
# sourced: no expansion, no escapes.
read_settings_file() {
    local file=$1
    local -n preset=$2
    local line key value lineno=0
    while IFS= read -r line || [[ -n $line ]]; do
        lineno=$((lineno + 1))
        line=${line%$'\r'}
        [[ $line =~ ^[[:space:]]*(#.*)?$ ]] && continue
        if [[ ! $line =~ ^[[:space:]]*(export[[:space:]]+)?([A-Za-z_][A-Za-z0-9_]*)=(.*)$ ]]; then
            die "$EX_USAGE" "$file line $lineno is not KEY=value: fix or remove that line"
        fi
        key=${BASH_REMATCH[2]}
        value=${BASH_REMATCH[3]}
        if [[ $value =~ ^\"(.*)\"[[:space:]]*$ || $value =~ ^\'(.*)\'[[:space:]]*$ ]]; then
            value=${BASH_REMATCH[1]}
        fi
        if ! is_setting_key "$key"; then
            warn "ignoring unknown setting $key in $file"
            continue
        fi
        [[ -n ${preset[$key]:-} ]] && continue
        printf -v "$key" '%s' "$value"
        if [[ $key == RCLONE_* ]]; then export "${key?}"; fi
    done <"$file"
}

# load_settings: the environment, then ${FORTRESS_CONFIG_DIR:-/etc/income-fortress}/backup.env
# (from cloud-init), then credentials.env (secrets, mode 600); the environment wins.
load_settings() {
    local dir=${FORTRESS_CONFIG_DIR:-$FORTRESS_DEFAULT_CONFIG_DIR} file key mode
    local -A from_env=()
    for key in "${FORTRESS_SETTING_KEYS[@]}"; do
        if [[ -n ${!key:-} ]]; then from_env[$key]=1; fi
    done
    while IFS='=' read -r key _; do
        if [[ $key == RCLONE_* ]]; then from_env[$key]=1; fi
    done < <(env)
    for file in "$dir/$FORTRESS_SETTINGS_NAME" "$dir/$FORTRESS_CREDENTIALS_NAME"; do
        [[ -e $file ]] || continue
        [[ -r $file ]] || die "$EX_USAGE" "cannot read $file: run as root or fix its permissions"
        if [[ $file == "$dir/$FORTRESS_CREDENTIALS_NAME" ]]; then
            mode=$(stat -c '%a' "$file")
            [[ $mode =~ ^[0-7]?[0-7]00$ ]] || warn "$file has mode $mode; secrets belong in a file only root can read (chmod 600 $file)"
        fi
        read_settings_file "$file" from_env
    done
    # Every known setting is defined from here on (empty when not given), for `set -u`.
    for key in "${FORTRESS_SETTING_KEYS[@]}"; do
        printf -v "$key" '%s' "${!key:-}"
    done
    BACKUP_PREFIX=${BACKUP_PREFIX:-}
    while [[ $BACKUP_PREFIX == /* ]]; do BACKUP_PREFIX=${BACKUP_PREFIX#/}; done
    while [[ $BACKUP_PREFIX == */ ]]; do BACKUP_PREFIX=${BACKUP_PREFIX%/}; done
    if [[ -n $BACKUP_PREFIX && ! $BACKUP_PREFIX =~ ^[A-Za-z0-9._/-]+$ ]]; then
        die "$EX_USAGE" "BACKUP_PREFIX '$BACKUP_PREFIX' may hold only letters, digits, '.', '_', '-' and '/': fix it in $dir/$FORTRESS_SETTINGS_NAME"
    fi
}

# require_setting KEY: exit 2 when a setting is empty.
require_setting() {
    local key=$1
    [[ -n ${!key:-} ]] || die "$EX_USAGE" "$key is not set: set it in the environment or in ${FORTRESS_CONFIG_DIR:-$FORTRESS_DEFAULT_CONFIG_DIR}/$FORTRESS_SETTINGS_NAME"
}

# Parse a duration such as 7200, 90s, 45m, 2h or 1d into seconds (stdout). Returns 1 if bad.
parse_duration() {
    local value=$1
    [[ $value =~ ^([0-9]+)([smhd]?)$ ]] || return 1
    local n=$((10#${BASH_REMATCH[1]}))
    case ${BASH_REMATCH[2]} in
        "" | s) printf '%d' "$n" ;;
        m) printf '%d' $((n * 60)) ;;
        h) printf '%d' $((n * 3600)) ;;
        d) printf '%d' $((n * 86400)) ;;
    esac
}

# Parse a size such as 0, 4096, 512k, 64M or 2G (binary units) into bytes (stdout).
# Returns 1 if bad.
parse_size() {
    local value=$1
    [[ $value =~ ^([0-9]{1,9})([kKmMgG]?)$ ]] || return 1
    local n=$((10#${BASH_REMATCH[1]}))
    case ${BASH_REMATCH[2]} in
        "") printf '%d' "$n" ;;
        k | K) printf '%d' $((n << 10)) ;;
        m | M) printf '%d' $((n << 20)) ;;
        g | G) printf '%d' $((n << 30)) ;;
    esac
}

# Seconds to a short human string (e.g. 1h 05m).
human_duration() {
    local s=$1
    if ((s < 0)); then printf -- '-'; s=$((-s)); fi
    if ((s >= 86400)); then
        printf '%dd %02dh' $((s / 86400)) $((s % 86400 / 3600))
    elif ((s >= 3600)); then
        printf '%dh %02dm' $((s / 3600)) $((s % 3600 / 60))
    elif ((s >= 60)); then
        printf '%dm %02ds' $((s / 60)) $((s % 60))
    else
        printf '%ds' "$s"
    fi
}

human_bytes() {
    local b=$1
    if ((b >= 1073741824)); then
        printf '%d.%02d GiB' $((b / 1073741824)) $((b % 1073741824 * 100 / 1073741824))
    elif ((b >= 1048576)); then
        printf '%d.%02d MiB' $((b / 1048576)) $((b % 1048576 * 100 / 1048576))
    elif ((b >= 1024)); then
        printf '%d.%02d KiB' $((b / 1024)) $((b % 1024 * 100 / 1024))
    else
        printf '%d B' "$b"
    fi
}

# ---------------------------------------------------------------------------------------
# Signals

# supervise "$@": run this command in a worker leading its own process group and wait for
# it. A TERM, INT or HUP sent here (timeout, kill PID) goes to the whole group, so pg_dump,
# rclone, psql... stop with the worker, whose exit hooks undo what is half done. If this
# process is SIGKILLed, a watcher sees its pipe from us close and sends the TERM instead.
supervise() {
    [[ ${FORTRESS_SUPERVISOR:-} == "$PPID" ]] && return 0
    command -v setsid >/dev/null 2>&1 || return 0
    local worker status
    # A background child is no group leader, so setsid(1) does not fork: $! is the worker.
    FORTRESS_SUPERVISOR=$$ setsid "$0" "$@" <&0 &
    worker=$!
    exec {FORTRESS_ALIVE}> >({ read -r _ || :; kill -TERM -- "-$worker"; } 2>/dev/null)
    trap 'trap "" INT TERM HUP; kill -TERM -- "-$worker" "$worker" 2>/dev/null' INT TERM HUP
    while status=0 && wait "$worker" || status=$?; kill -0 "$worker" 2>/dev/null; do :; done
    exit "$status"
}

# ---------------------------------------------------------------------------------------
# Private scratch space

# init_workdir: a private temporary directory ($WORK_DIR) under TMPDIR, removed on exit.
init_workdir() {
    umask 077
    WORK_DIR=$(mktemp -d "${TMPDIR:-/tmp}/$PROG.XXXXXXXX") ||
        die "$EX_FAILURE" "cannot create a temporary directory in ${TMPDIR:-/tmp}: check free space or set TMPDIR"
    FORTRESS_CLEANUP_HOOKS=()
    FORTRESS_ERROR=""
    FORTRESS_TRAP_PID=$BASHPID
    trap fortress_exit_trap EXIT
    trap 'stopped_by INT 130' INT
    trap 'stopped_by TERM 143' TERM
    trap 'stopped_by HUP 129' HUP
}

# A signal ends the run with one error line that says what state it leaves behind:
# signal_state, when the command defines it, describes that.
stopped_by() {
    local state=""
    declare -F signal_state >/dev/null && state=$(signal_state)
    die "$2" "stopped by signal $1${state:+: $state}"
}

# Register a command string run (in reverse order) when the script exits.
on_exit() {
    FORTRESS_CLEANUP_HOOKS+=("$1")
}

fortress_exit_trap() {
    local status=$? i
    set +e
    # Cleanup must finish: a second signal would cut it short. Its commands inherit this.
    trap '' INT TERM HUP
    for ((i = ${#FORTRESS_CLEANUP_HOOKS[@]} - 1; i >= 0; i--)); do
        eval "${FORTRESS_CLEANUP_HOOKS[i]}"
    done
    [[ -n ${WORK_DIR:-} && -d $WORK_DIR ]] && rm -rf -- "$WORK_DIR"
    [[ -n ${FORTRESS_ERROR:-} ]] && printf '%s: error: %s\n' "$PROG" "$FORTRESS_ERROR" >&2
    exit "$status"
}

# ---------------------------------------------------------------------------------------
# Object storage (rclone, configured only through environment variables)

# rclone with no config file (remotes come from RCLONE_CONFIG_* variables: no secret on
# disk), errors only. An array, not a function: a stream's process is rclone itself.
RCLONE=(rclone --config /dev/null --log-level ERROR)

# rclone_op ARGS...: a small request, given FORTRESS_S3_TIMEOUT in all (rclone's timeouts
# multiply over its retries). --foreground keeps rclone in our process group.
rclone_op() {
    local status=0
    timeout --foreground -k 5 "$S3_TIMEOUT" "${RCLONE[@]}" "$@" || status=$?
    if ((status == 124 || status == 137)); then
        printf 'storage did not answer within %ss (FORTRESS_S3_TIMEOUT)\n' "$S3_TIMEOUT" >&2
    fi
    return "$status"
}

# configure_remote NAME ENDPOINT ACCESS_KEY SECRET_KEY REGION: define an S3 remote in the
# environment of later rclone calls.
configure_remote() {
    local name=${1^^} endpoint=$2 key=$3 secret=$4 region=$5
    export "RCLONE_CONFIG_${name}_TYPE=s3"
    export "RCLONE_CONFIG_${name}_PROVIDER=Other"
    export "RCLONE_CONFIG_${name}_ENDPOINT=$endpoint"
    export "RCLONE_CONFIG_${name}_REGION=$region"
    export "RCLONE_CONFIG_${name}_ENV_AUTH=false"
    export "RCLONE_CONFIG_${name}_ACCESS_KEY_ID=$key"
    export "RCLONE_CONFIG_${name}_SECRET_ACCESS_KEY=$secret"
    # Path style: Spaces serves it, and a loopback test server has no wildcard DNS. The
    # droplet's keys may not create buckets (Pulumi owns them). 16 MiB x 4 parts in memory
    # allow objects up to ~156 GiB (10,000 parts).
    export "RCLONE_CONFIG_${name}_FORCE_PATH_STYLE=true"
    export "RCLONE_CONFIG_${name}_NO_CHECK_BUCKET=true"
    export "RCLONE_CONFIG_${name}_CHUNK_SIZE=${BACKUP_S3_CHUNK_SIZE:-16M}"
}

validate_endpoint() {
    local key=$1
    [[ ${!key} =~ ^https?://[^[:space:]/]+/?$ ]] ||
        die "$EX_USAGE" "$key '${!key}' is not an endpoint URL like https://nyc3.digitaloceanspaces.com: fix it in the environment or backup.env"
}

validate_bucket() {
    local key=$1
    [[ ${!key} =~ ^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$ ]] ||
        die "$EX_USAGE" "$key '${!key}' is not a valid bucket name (3-63 lower-case letters, digits, '.', '-'): fix it in the environment or backup.env"
}

# setup_remotes: configure the remotes; fill STORE_NAMES (primary first), STORE_PATH[name]
# (remote:bucket/prefix) and STORE_LABEL[name] (s3://bucket/prefix). Needs one bucket.
setup_remotes() {
    # rclone's defaults retry a dead endpoint for minutes; in a disaster the offsite bucket
    # should be tried within seconds. RCLONE_* variables override these.
    export RCLONE_LOW_LEVEL_RETRIES=${RCLONE_LOW_LEVEL_RETRIES:-1} RCLONE_RETRIES=${RCLONE_RETRIES:-1}
    export RCLONE_CONTIMEOUT=${RCLONE_CONTIMEOUT:-10s} RCLONE_TIMEOUT=${RCLONE_TIMEOUT:-15s}
    S3_TIMEOUT=$(parse_duration "${FORTRESS_S3_TIMEOUT:-30s}") || S3_TIMEOUT=0
    ((S3_TIMEOUT > 0)) ||
        die "$EX_USAGE" "FORTRESS_S3_TIMEOUT must be a duration such as 30s or 2m, not '$FORTRESS_S3_TIMEOUT'"
    STORE_NAMES=()
    declare -gA STORE_PATH=() STORE_LABEL=()
    local region=${BACKUP_S3_REGION:-us-east-1} sub=""
    [[ -n $BACKUP_PREFIX ]] && sub="/$BACKUP_PREFIX"
    if [[ -n ${BACKUP_BUCKET:-} ]]; then
        require_setting BACKUP_S3_ENDPOINT
        validate_endpoint BACKUP_S3_ENDPOINT
        validate_bucket BACKUP_BUCKET
        require_setting AWS_ACCESS_KEY_ID
        require_setting AWS_SECRET_ACCESS_KEY
        configure_remote ifprimary "$BACKUP_S3_ENDPOINT" "$AWS_ACCESS_KEY_ID" "$AWS_SECRET_ACCESS_KEY" "$region"
        STORE_NAMES+=(primary)
        STORE_PATH[primary]="ifprimary:$BACKUP_BUCKET$sub"
        STORE_LABEL[primary]="s3://$BACKUP_BUCKET$sub"
    fi
    if [[ -n ${BACKUP_OFFSITE_BUCKET:-} ]]; then
        BACKUP_OFFSITE_S3_ENDPOINT=${BACKUP_OFFSITE_S3_ENDPOINT:-${BACKUP_S3_ENDPOINT:-}}
        require_setting BACKUP_OFFSITE_S3_ENDPOINT
        validate_endpoint BACKUP_OFFSITE_S3_ENDPOINT
        validate_bucket BACKUP_OFFSITE_BUCKET
        local key=${BACKUP_OFFSITE_ACCESS_KEY_ID:-${AWS_ACCESS_KEY_ID:-}}
        local secret=${BACKUP_OFFSITE_SECRET_ACCESS_KEY:-${AWS_SECRET_ACCESS_KEY:-}}
        [[ -n $key && -n $secret ]] ||
            die "$EX_USAGE" "no credentials for the offsite bucket: set BACKUP_OFFSITE_ACCESS_KEY_ID and BACKUP_OFFSITE_SECRET_ACCESS_KEY (or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY) in credentials.env"
        configure_remote ifoffsite "$BACKUP_OFFSITE_S3_ENDPOINT" "$key" "$secret" "${BACKUP_OFFSITE_S3_REGION:-$region}"
        STORE_NAMES+=(offsite)
        STORE_PATH[offsite]="ifoffsite:$BACKUP_OFFSITE_BUCKET$sub"
        STORE_LABEL[offsite]="s3://$BACKUP_OFFSITE_BUCKET$sub"
    fi
    ((${#STORE_NAMES[@]})) ||
        die "$EX_USAGE" "no backup bucket configured: set BACKUP_BUCKET (and/or BACKUP_OFFSITE_BUCKET) with its endpoint in ${FORTRESS_CONFIG_DIR:-$FORTRESS_DEFAULT_CONFIG_DIR}/$FORTRESS_SETTINGS_NAME"
}

# select_stores SOURCE: narrow STORE_NAMES to primary, offsite, or all configured (auto/all).
select_stores() {
    local source=$1
    case $source in
        auto | all) ;;
        primary | offsite)
            [[ -n ${STORE_PATH[$source]:-} ]] || {
                local key=BACKUP_BUCKET
                [[ $source == offsite ]] && key=BACKUP_OFFSITE_BUCKET
                die "$EX_USAGE" "--source $source needs $key to be set: set it in the environment or backup.env"
            }
            STORE_NAMES=("$source")
            ;;
        *) usage_error "--source must be primary, offsite or auto, not '$source'" ;;
    esac
}

# fetch_small STORE KEY DEST ERRFILE: download a small object. Returns 0 when found, 4 when
# missing (rclone cat prints nothing then), 1 when storage could not be read (see ERRFILE).
fetch_small() {
    local store=$1 key=$2 dest=$3 errfile=$4 status=0
    rclone_op cat "${STORE_PATH[$store]}/$key" >"$dest" 2>"$errfile" || status=$?
    if ((status == 3 || status == 4)); then
        return 4
    elif ((status)); then
        return 1
    fi
    [[ -s $dest ]] || return 4
    return 0
}

# Split BACKUP_AGE_RECIPIENTS into AGE_RECIPIENTS and check each looks like an age key.
parse_recipients() {
    AGE_RECIPIENTS=()
    local r
    for r in ${BACKUP_AGE_RECIPIENTS//,/ }; do
        [[ $r =~ ^age1[02-9ac-hj-np-z]{58}$ ]] ||
            die "$EX_USAGE" "BACKUP_AGE_RECIPIENTS entry '${r:0:20}...' is not an age public key (age1...): fix it in backup.env (age-keygen -y IDENTITY prints one)"
        AGE_RECIPIENTS+=("$r")
    done
}

# upload_small STORE KEY FILE: rcat always rewrites; copyto may skip a same-size object of
# the same second, and latest.json must always move.
upload_small() {
    local store=$1 key=$2 file=$3
    rclone_op rcat "${STORE_PATH[$store]}/$key" <"$file"
}

# object_size STORE KEY: print the stored size of an object, or fail if it does not exist.
object_size() {
    local store=$1 key=$2 listing
    listing=$(rclone_op lsjson --files-only --no-modtime --no-mimetype "${STORE_PATH[$store]}/$key") || return 1
    jq -er 'if length == 1 then .[0].Size else empty end' <<<"$listing"
}

# list_backup_ids STORE: print the ids of all backups with a manifest, newest first.
list_backup_ids() {
    local store=$1
    rclone_op lsf --files-only --max-depth 1 --include '*.manifest.json' "${STORE_PATH[$store]}" |
        sed -n 's/\.manifest\.json$//p' | LC_ALL=C sort -r
}

# ---------------------------------------------------------------------------------------
# Manifests

# validate_manifest FILE: the manifest has every field restore relies on, in the right form.
validate_manifest() {
    jq -e --arg format "$BACKUP_FORMAT" '
        .format == $format
        and (.id | type == "string" and test("^[0-9]{8}T[0-9]{6}Z(-[A-Za-z0-9._-]+)?$"))
        and (.createdAt | type == "string")
        and (.object | type == "string" and test("^([A-Za-z0-9._/-]+/)?[A-Za-z0-9._-]+$"))
        and (.bytes | type == "number" and . > 0)
        and (.sha256 | type == "string" and test("^[0-9a-f]{64}$"))
        and (.compression == "zstd")
        and (.encryption == "age" or .encryption == "none")
        and (.tables | type == "object" and all(.[]; type == "number"))
    ' "$1" >/dev/null 2>&1
}

# manifest_get FILE FIELD: print one field (jq path without the leading dot).
manifest_get() {
    jq -r ".$2 // empty" "$1"
}

# Object file name (no prefix) of a backup id and encryption mode.
object_name() {
    local id=$1 encryption=$2
    if [[ $encryption == age ]]; then
        printf '%s.dump.zst.age' "$id"
    else
        printf '%s.dump.zst' "$id"
    fi
}

# ISO timestamp to epoch milliseconds (stdout); returns 1 when unparsable. A time without a
# zone is taken as UTC.
iso_to_epoch_ms() {
    local value=$1
    [[ $value =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}([T\ ][0-9]{2}:[0-9]{2}(:[0-9]{2}(\.[0-9]+)?)?)?(Z|[+-][0-9]{2}(:?[0-9]{2})?)?$ ]] ||
        return 1
    TZ=UTC date -d "$value" +%s%3N 2>/dev/null
}

# ---------------------------------------------------------------------------------------
# PostgreSQL

# use_database_url URL: keep the password out of argv (any local user can read argv with
# ps). Sets DB_URL to the URL without its password and exports PGPASSWORD for libpq.
use_database_url() {
    local url=$1
    if [[ $url =~ ^(postgres(ql)?://[^:@/?]*):([^@/?]*)@(.*)$ ]]; then
        local password=${BASH_REMATCH[3]}
        url="${BASH_REMATCH[1]}@${BASH_REMATCH[4]}"
        # Percent-decode (RFC 3986) the password for libpq; a literal backslash stays one.
        password=${password//\\/\\\\}
        printf -v password '%b' "${password//%/\\x}"
        export PGPASSWORD=$password
    fi
    DB_URL=$url
    export PGAPPNAME=${PGAPPNAME:-$PROG}
    export PGCONNECT_TIMEOUT=${PGCONNECT_TIMEOUT:-15}
    # A lock held by a migration or an idle transaction fails a statement after this long.
    LOCK_TIMEOUT=$(parse_duration "${FORTRESS_LOCK_TIMEOUT:-60s}") || LOCK_TIMEOUT=0
    ((LOCK_TIMEOUT > 0)) ||
        die "$EX_USAGE" "FORTRESS_LOCK_TIMEOUT must be a duration such as 60s or 5m, not '$FORTRESS_LOCK_TIMEOUT'"
    export PGOPTIONS="${PGOPTIONS:-} -c lock_timeout=${LOCK_TIMEOUT}s"
}

# lock_hint URL ERRFILE: for an error line, when ERRFILE shows a lock timeout, the
# sessions holding table locks in that database (pid, application, state).
lock_hint() {
    [[ -e $WORK_DIR/lock-wait ]] || grep -qsE 'lock timeout|LOCK TABLE' "$2" || return 0
    local who
    who=$(psql -X -q -A -t -d "$1" -c "SELECT string_agg(format('pid %s (%s, %s)', pid,
        coalesce(nullif(application_name, ''), usename), state), ', ') FROM pg_stat_activity
        WHERE datname = current_database() AND pid IN (SELECT pid FROM pg_locks
        WHERE granted AND locktype = 'relation' AND pid <> pg_backend_pid())" 2>/dev/null) || who=""
    printf '; a lock was held longer than FORTRESS_LOCK_TIMEOUT (%ss)%s' "$LOCK_TIMEOUT" "${who:+ by $who}"
}

# url_with_dbname URL NAME: the same server and credentials, another database.
url_with_dbname() {
    local url=$1 name=$2
    if [[ $url =~ ^(postgres(ql)?://[^/?]*)(/[^?]*)?(\?.*)?$ ]]; then
        printf '%s/%s%s' "${BASH_REMATCH[1]}" "$name" "${BASH_REMATCH[4]}"
    else
        # key=value connection string: a later keyword overrides an earlier one.
        printf "%s dbname='%s'" "$url" "$name"
    fi
}

# A URL safe to print: no password, even one given as a query parameter.
display_url() {
    local url=$1
    url=$(sed -E 's#(://[^:@/]*):[^@/]*@#\1:***@#; s#(password=)[^& ]*#\1***#g' <<<"$url")
    printf '%s' "$url"
}

# pg_query CONTEXT URL SQL [psql options...]: run SQL (psql variables allowed: pass -v
# name=value), print tuples unaligned. On failure print one error line and exit 1.
pg_query() {
    local context=$1 url=$2 sql=$3 status=0
    shift 3
    local errfile="${WORK_DIR:?init_workdir first}/psql.$BASHPID.err"
    psql -X -q -A -t -v ON_ERROR_STOP=1 "$@" -d "$url" <<<"$sql" 2>"$errfile" || status=$?
    if ((status)); then
        debug_dump "$errfile"
        die "$EX_FAILURE" "$context failed: $(error_summary "$errfile"): check that $(display_url "$url") is reachable and the user may do this"
    fi
}

# The user tables, ordinary and partitioned, as `c` (pg_class) and `ns` (its namespace):
# no temp tables, catalogs or extension members. The counts and the table count use it.
# shellcheck disable=SC2016 # SQL dollar quotes, not shell expansions
readonly USER_TABLES_FROM='
FROM pg_catalog.pg_class c
JOIN pg_catalog.pg_namespace ns ON ns.oid = c.relnamespace
WHERE c.relkind IN ($$r$$, $$p$$) AND c.relpersistence <> $$t$$
  AND ns.nspname NOT IN ($$pg_catalog$$, $$information_schema$$)
  AND ns.nspname !~ $$^pg_(toast|temp_)$$
  AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_depend d
                  WHERE d.classid = $$pg_catalog.pg_class$$::regclass
                    AND d.objid = c.oid AND d.deptype = $$e$$)'

# SQL that prints {"schema.table": exact row count} for the user tables (partitioned ones
# with all their partitions' rows). psql variable `only`: a JSON array of the keys to
# count, or ''.
# shellcheck disable=SC2016 # psql variables, not shell expansions
readonly TABLE_COUNTS_SQL='
SELECT coalesce(json_object_agg(k, n ORDER BY k), $${}$$)::text FROM (
  SELECT format($$%s.%s$$, ns.nspname, c.relname) AS k,
         (xpath($$/row/c/text()$$, query_to_xml(format(
            CASE WHEN c.relkind = $$p$$ THEN $$SELECT count(*) AS c FROM %I.%I$$
                 ELSE $$SELECT count(*) AS c FROM ONLY %I.%I$$ END,
            ns.nspname, c.relname), false, true, $$$$)))[1]::text::bigint AS n'"$USER_TABLES_FROM"'
    AND (nullif(:'"'"'only'"'"', $$$$) IS NULL
         OR nullif(:'"'"'only'"'"', $$$$)::jsonb ? format($$%s.%s$$, ns.nspname, c.relname))
) t;'

# Number of user tables in a database.
readonly USER_TABLES_SQL="
SELECT count(*)$USER_TABLES_FROM;"

# table_counts URL [JSON_ARRAY_OF_KEYS]: print the counts JSON of a database.
table_counts() {
    local url=$1 only=${2:-}
    pg_query "counting rows" "$url" "$TABLE_COUNTS_SQL" -v only="$only"
}

# compare_counts EXPECTED_JSON ACTUAL_JSON: print one "table: expected X, got Y" per
# mismatch (tables in EXPECTED only); print nothing when all match.
compare_counts() {
    jq -rn --argjson want "$1" --argjson got "$2" '
        $want | to_entries[]
        | select(.value != ($got[.key] // null))
        | "\(.key): expected \(.value), got \($got[.key] // "no table")"'
}

# SHA256_CMD prints the sha256 of stdin first: OpenSSL's uses the CPU's SHA instructions,
# 4x faster than sha256sum (docs/benchmarks.md). sha256_stdin is for npm run bench.
if command -v openssl >/dev/null 2>&1; then SHA256_CMD=(openssl dgst -sha256 -r); else SHA256_CMD=(sha256sum); fi
sha256_stdin() { "${SHA256_CMD[@]}"; }

# fill_data_offsets FILE: write the data offsets pg_dump could not (it wrote to a pipe) into
# the archive's TOC, byte for byte what pg_dump --file writes; without them pg_restore -j
# seeks row by row and has no sizes (docs/benchmarks.md). Each data block starts with the
# previous one's end marker, its type and TOC id (COPY text holds no NUL), so one index()
# pass finds them. It also proves the archive whole: every block is there and the file ends
# with the last end marker (five zero bytes, found nowhere else). Returns 0 and prints
# "<dump id> <offset>" per data block when so; 1 when the archive is cut short or not of a
# format it knows (1.14-1.16, no compression inside, no large objects), leaving it as is.
fill_data_offsets() {
    command -v perl >/dev/null 2>&1 || return 1
    perl - "$1" 2>/dev/null <<'PERL'
use strict;
use warnings;
open(my $fh, '+<:raw', $ARGV[0]) or exit 1;
my ($h, $buf, $p, @need, @found, @have) = ('', '', 11);
sysread($fh, $h, 16 << 20);
my ($maj, $min, $isz, $osz, $fmt) = unpack('x5CCxCCC', $h);
exit 1 unless substr($h, 0, 5) eq 'PGDMP' && $maj == 1 && $min >= 14 && $min <= 16 && $isz == 4 && $osz == 8 && $fmt == 1;
sub int4 { die "short\n" if $p + 5 > length $h; my ($s, $v) = unpack('CV', substr($h, $p, 5)); $p += 5; $s ? -$v : $v }
sub str { my $l = int4(); return undef if $l < 0; $p += $l; die "short\n" if $p > length $h; substr($h, $p - $l, $l) }
eval {
    die "compressed\n" if ($min >= 15 ? ord(substr($h, $p++, 1)) : int4()) != 0;
    int4() for 1 .. 7;
    str() for 1 .. 3;
    for (1 .. int4()) {
        my $id = int4();
        int4();
        die "large objects\n" if (map { str() // '' } 1 .. 4)[3] eq 'BLOBS';
        int4();
        str() for 1 .. 6;
        int4() if $min >= 16;
        str() for 1 .. 2;
        1 while defined str();
        die "short\n" if $p + 9 > length $h;
        my $flag = ord(substr($h, $p, 1));
        push @need, [$id, $p] if $flag == 1;
        push @have, [$id, unpack('Q<', substr($h, $p + 1, 8))] if $flag == 2;
        $p += 9;
    }
    1;
} or exit 1;
my ($base, $at) = ($p, $p);
for my $n (@need) {
    my $pat = (@found ? "\0" x 5 : '') . pack('CCV', 1, 0, $n->[0]);
    my $i;
    while (($i = index($buf, $pat, $at - $base)) < 0) {
        my $keep = length($buf) > 10 ? substr($buf, -10) : $buf;
        $base += length($buf) - length($keep);
        sysseek($fh, $base + length($keep), 0) && sysread($fh, $buf, 16 << 20) or exit 1;
        $buf = $keep . $buf;
    }
    exit 1 if !@found && $base + $i != $p;
    $at = $base + $i + length($pat);
    push @found, [$n->[1], $at - 6, $n->[0]];
}
my ($size, $tail, $head) = (-s $fh, '', '');
if (@found || @have) {
    sysseek($fh, $size - 5, 0) && sysread($fh, $tail, 5) == 5 && $tail eq "\0" x 5 && $at <= $size - 5 or exit 1;
    for (@have) { sysseek($fh, $_->[1], 0) && sysread($fh, $head, 6) == 6 && $head eq pack('CCV', 1, 0, $_->[0]) && $_->[1] < $size - 5 or exit 1 }
}
for (@found) { sysseek($fh, $_->[0], 0) && syswrite($fh, pack('CQ<', 2, $_->[1])) == 9 or exit 1 }
close($fh) or exit 1;
print "$_->[0] $_->[1]\n" for @have, map { [$_->[2], $_->[1]] } @found;
PERL
}

# Positive integer check for options such as --jobs.
is_positive_int() {
    [[ $1 =~ ^[1-9][0-9]{0,5}$ ]]
}

# Database name check for --into and throwaway databases (plain identifiers only, so they
# never need quoting and cannot collide with case-folded names).
is_plain_identifier() {
    [[ $1 =~ ^[a-z_][a-z0-9_]{0,62}$ ]]
}
