# shellcheck shell=bash
# Usage: evidence.sh DIR LABEL RECIPIENT...
# Summary: Keep the evidence of a host under suspicion with fortress-evidence, before anything changes it.
#
# Breach step "evidence" (components/isolation.ts, evidenceScript): compose logs, the
# journal, auth logs, processes and sockets, age-encrypted, in every bucket under
# evidence/<stack>/ (docs/host-toolkit.md). It runs before the app is stopped, so the
# process list and sockets still show the app, and before any replacement droplet exists.
#
# Arguments:
#   DIR         the compose project folder in the checkout
#   LABEL       the word at the end of the object's name (isolate-d<droplet id>)
#   RECIPIENT   the stack's age recipients (config ageRecipients, public keys), passed in
#               the environment, which wins over backup.env: a host built before they
#               were set still encrypts its evidence

# shellcheck disable=SC2034 # the name in this step's messages, read by fail and say (lib.sh)
readonly STEP_NAME=evidence

main() {
    (($# >= 3)) || fail "usage: evidence.sh DIR LABEL RECIPIENT..., got $# arguments: build the step with components/recovery/scripts.ts"
    local dir=$1 label=$2 recipients="${*:3}"
    # A droplet built before the toolkit had the command: its disk (journal, auth logs,
    # container logs) is in the snapshot, taken beside this step; only the process list and
    # the sockets are lost. Blocking the rotation on that would keep the suspect running.
    if ! command -v fortress-evidence >/dev/null; then
        say "WARNING: this droplet predates fortress-evidence, so no bundle is taken; its disk is kept in the snapshot, but not its processes or sockets. Capture them by hand now if they matter (ps auxww; ss -tunap)"
        return 0
    fi
    sudo "BACKUP_AGE_RECIPIENTS=$recipients" fortress-evidence --compose-dir "$dir" --label "$label" ||
        fail "fortress-evidence failed (see above): fix the cause and run pulumi up again; nothing is replaced before the evidence is kept"
    say "evidence kept; decrypt it with the age identity (age -d -i key.txt FILE | zstd -d | tar -x)"
}

main "$@"
