# shellcheck shell=bash
# Summary: The prelude of every recovery step: strict mode, fail and say.
#
# A step's command text is its `set -- ARG...` line, this file, the helper files the step
# calls (lib-*.sh), then the step file (components/recovery/scripts.ts, stepText). A change
# here changes every text, and so runs every step once more.
#
# Each step file sets STEP_NAME first: the name after "income-fortress " in its messages.
set -euo pipefail

# fail MESSAGE: one error line that says what to do, then exit 1.
fail() {
    printf 'income-fortress %s: error: %s\n' "$STEP_NAME" "$*" >&2
    exit 1
}

# say MESSAGE: one progress line.
say() {
    printf 'income-fortress %s: %s\n' "$STEP_NAME" "$*"
}
