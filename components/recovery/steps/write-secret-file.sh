# shellcheck shell=bash
# Usage: write-secret-file.sh PATH OWNER WHAT
# Summary: Write stdin to a root-created file with mode 600, atomically.
#
# Steps "secret-*" of the recovery chain (components/recovery/scripts.ts,
# writeSecretFileScript). The secret arrives on stdin and never is an argument: a command's
# text is printed when it fails and kept in the Pulumi state.
#
# Arguments:
#   PATH    absolute path of the file; its folder must exist already (user-data makes it)
#   OWNER   owner and group, e.g. root:root or deployer:deployer
#   WHAT    what the file is, for messages
#
# The bytes go into a temp file in the same folder, then are renamed over PATH, so a
# reader never sees half a file and a failed write leaves the old one. An empty stdin is
# refused: a file emptied by mistake would look like "no credentials" to every reader.

# shellcheck disable=SC2034 # the name in this step's messages, read by fail and say (lib.sh)
readonly STEP_NAME=secrets

# The temp file while it is being written; removed on exit unless it was renamed.
TMP_FILE=""

# remove_temp_file: the exit trap; leaves nothing behind from a write that did not finish.
remove_temp_file() {
    if [[ -n $TMP_FILE ]]; then sudo rm -f -- "$TMP_FILE"; fi
}

main() {
    (($# == 3)) || fail "usage: write-secret-file.sh PATH OWNER WHAT, got $# arguments: build the step with components/recovery/scripts.ts"
    local path=$1 owner=$2 what=$3
    local dir=${path%/*}
    dir=${dir:-/}
    umask 077
    sudo test -d "$dir" || fail "$dir does not exist, so user-data did not finish; replace the droplet"
    # mktemp makes the file 0600; tee copies stdin without the bytes ever being an argument.
    TMP_FILE=$(sudo mktemp "$path.XXXXXX")
    trap remove_temp_file EXIT
    sudo tee -- "$TMP_FILE" >/dev/null
    sudo test -s "$TMP_FILE" || fail "nothing arrived on stdin for $what; no file was written"
    sudo chown "$owner" -- "$TMP_FILE"
    sudo chmod 0600 -- "$TMP_FILE"
    sudo mv -f -- "$TMP_FILE" "$path"
    TMP_FILE=""
    say "wrote $what: $(sudo stat -c '%n, mode %a, %U:%G, %s bytes' -- "$path")"
}

main "$@"
