# shellcheck shell=bash
# Usage: compose-stop.sh DIR
# Summary: Stop the app's containers on a host under suspicion (config isolate), keeping them.
#
# Breach step "stop-app" (components/isolation.ts, composeStopScript). `docker compose
# stop`, not `down`: the stopped containers keep their logs and file systems for the
# investigation. Stopping stopped containers does nothing, so the step is safe to repeat.
# The app starts again when isolation ends (compose-up.sh, step "resume-app").
#
# Arguments:
#   DIR   the compose project folder in the checkout

# shellcheck disable=SC2034 # the name in this step's messages, read by fail and say (lib.sh)
readonly STEP_NAME=isolate

main() {
    (($# == 1)) || fail "usage: compose-stop.sh DIR, got $# arguments: build the step with components/recovery/scripts.ts"
    local dir=$1
    enter_project "$dir"
    docker compose stop
    docker compose ps --all
    say "the app's containers are stopped and kept; they start again when isolate is false"
}

main "$@"
