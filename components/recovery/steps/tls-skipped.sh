# shellcheck shell=bash
# Usage: tls-skipped.sh isolated|served-by-dr FQDN
# Summary: Say why this HTTP-01 host asks for no certificate this time.
#
# Step "tls" of the recovery chain on an http-01 stack that cannot answer the challenge
# (components/recovery/scripts.ts, tlsScript with skip). The step still runs, so the
# reason is in its output, and a certificate already on the host keeps renewing once the
# reason is gone.
#
# Arguments:
#   isolated       the firewall is isolated (config isolate): inbound 80/443 are closed
#   served-by-dr   the public name points at the DR site (config activeSite dr)
#   FQDN           the stack's record

# shellcheck disable=SC2034 # the name in this step's messages, read by fail and say (lib.sh)
readonly STEP_NAME=tls

main() {
    (($# == 2)) || fail "usage: tls-skipped.sh isolated|served-by-dr FQDN, got $# arguments: build the step with components/recovery/scripts.ts"
    local reason=$1 fqdn=$2
    case $reason in
        isolated) say "the firewall is isolated (inbound 80/443 closed), so no HTTP-01 challenge can reach $fqdn; the certificate on the host is kept and renews once isolate is false again" ;;
        served-by-dr) say "$fqdn points at the DR site (activeSite dr), so this host cannot answer its HTTP-01 challenge; no certificate is requested here" ;;
        *) fail "unknown reason $reason: use isolated or served-by-dr" ;;
    esac
}

main "$@"
