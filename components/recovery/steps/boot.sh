# shellcheck shell=bash
# Usage: boot.sh MARKER
# Summary: Wait for cloud-init, then check the ready marker that user-data writes last.
#
# Step "boot" of the recovery chain. Its command text is `set -- MARKER`, lib.sh, then this
# file (components/recovery/scripts.ts, waitForBootScript), run by the deployer's login
# shell over SSH.
#
# Arguments:
#   MARKER   the ready marker, e.g. /var/lib/income-fortress/ready
#
# `cloud-init status --wait` exits 0 when done, 2 when done with recoverable errors
# ("degraded done", cloud-init 23.4+), 1 on failure. Exit 2 still counts as booted: the
# marker, written only after every bootstrap step succeeded, is what decides.

# shellcheck disable=SC2034 # the name in this step's messages, read by fail and say (lib.sh)
readonly STEP_NAME=boot

# wait_for_cloud_init: return once cloud-init is done, with or without recoverable errors.
wait_for_cloud_init() {
    local rc=0
    cloud-init status --wait >/dev/null 2>&1 || rc=$?
    case $rc in
        0) ;;
        2) say "cloud-init finished with recoverable errors (exit 2, degraded done); the ready marker decides" ;;
        *) fail "cloud-init failed (cloud-init status --wait exited $rc): read /var/log/cloud-init-output.log on the droplet, fix the user-data and replace the droplet" ;;
    esac
}

main() {
    (($# == 1)) || fail "usage: boot.sh MARKER, got $# arguments: build the step with components/recovery/scripts.ts"
    local marker=$1
    wait_for_cloud_init
    [[ -f $marker ]] || fail "cloud-init is done but $marker is missing, so a bootstrap step failed: read /var/log/cloud-init-output.log on the droplet"
    say "booted: $(tr '\n' ' ' <"$marker")"
}

main "$@"
