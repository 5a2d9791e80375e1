# shellcheck shell=bash
# Summary: Helpers of the steps that work in the compose project (migrate, compose-up).
#
# Put after lib.sh in the texts of the steps that call them (components/recovery/scripts.ts,
# STEP_HELPERS), and in no other text.

# enter_project DIR: cd into the compose project, which must hold the .env by now.
enter_project() {
    local dir=$1
    cd -- "$dir" || fail "$dir does not exist: user-data did not check out the app; replace the droplet"
    [[ -f .env ]] || fail "$dir/.env is missing: the secrets step must run first"
}
