# shellcheck shell=bash
# Usage: images.sh DIR
# Summary: Pull and build the app's images ahead of a failover, without starting anything.
#
# Step "images" of a warm standby's recovery chain (components/recovery/scripts.ts,
# imagesScript). At failover, migrate and compose then start from the local image cache
# instead of spending minutes pulling and building.
#
# Arguments:
#   DIR   the compose project folder in the checkout

# shellcheck disable=SC2034 # the name in this step's messages, read by fail and say (lib.sh)
readonly STEP_NAME=images

main() {
    (($# == 1)) || fail "usage: images.sh DIR, got $# arguments: build the step with components/recovery/scripts.ts"
    local dir=$1
    enter_project "$dir"
    # Services with a build section are built; the others (nginx, ...) are pulled.
    docker compose pull --ignore-pull-failures
    docker compose build --pull
    say "images ready for $(git -C "$dir" describe --tags --always 2>/dev/null || echo 'the checkout')"
}

main "$@"
