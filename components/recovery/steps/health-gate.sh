# shellcheck shell=bash
# Usage: health-gate.sh URL TIMEOUT_SECONDS INTERVAL_SECONDS DIR
# Summary: Poll the app's health URL until it answers 200; on timeout, say where to look.
#
# Step "health" of the recovery chain (components/recovery/scripts.ts, healthGateScript):
# `pulumi up` succeeds only once the platform answers.
#
# Arguments:
#   URL                polled on the host, e.g. http://localhost:8000/health
#   TIMEOUT_SECONDS    give up after this many seconds
#   INTERVAL_SECONDS   seconds between attempts
#   DIR                the compose project, named in the failure message

# shellcheck disable=SC2034 # the name in this step's messages, read by fail and say (lib.sh)
readonly STEP_NAME=health

# answer CODE: the last answer in words, for the failure message.
answer() {
    local code=$1
    if [[ -z $code || $code == 000 ]]; then echo "no answer (connection failed)"; else echo "HTTP $code"; fi
}

main() {
    (($# == 4)) || fail "usage: health-gate.sh URL TIMEOUT_SECONDS INTERVAL_SECONDS DIR, got $# arguments: build the step with components/recovery/scripts.ts"
    local url=$1 timeout=$2 interval=$3 dir=$4
    [[ $timeout =~ ^[0-9]+$ && $interval =~ ^[0-9]+$ ]] || fail "TIMEOUT_SECONDS and INTERVAL_SECONDS are whole seconds, got $timeout and $interval: build the step with components/recovery/scripts.ts"
    local deadline=$((SECONDS + timeout)) last="no answer yet" code
    while :; do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 5 -- "$url") || true
        if [[ $code == 200 ]]; then
            say "$url answered 200 after ${SECONDS}s"
            return 0
        fi
        last=$(answer "$code")
        if ((SECONDS >= deadline)); then
            fail "$url did not answer 200 within ${timeout}s (last: $last); check docker compose ps and docker compose logs --tail=100 in $dir"
        fi
        sleep "$interval"
    done
}

main "$@"
