# shellcheck shell=bash
# Usage: tls-http-01.sh FQDN ADDRESS EMAIL DIR PROXY_SERVICE RESOLVE_TIMEOUT_SECONDS PACKAGES
# Summary: Get a Let's Encrypt certificate with certbot's standalone server (HTTP-01).
#
# Step "tls" of the recovery chain on a stack with tlsChallenge http-01
# (components/recovery/scripts.ts, tlsScript). HTTP-01 needs no credential, but Let's
# Encrypt must reach this host behind the name: the step runs after the DNS record exists,
# waits until the name resolves here, and runs before `docker compose up`, while port 80
# is still free. certbot stores the pre and post hooks in the renewal config, so renewals
# stop the proxy for the seconds the challenge takes. --cert-name keeps one lineage per
# host, and --keep-until-expiring keeps a valid certificate, so a re-run changes nothing.
#
# Arguments:
#   FQDN                      the stack's record; it also names the certificate
#   ADDRESS                   the address FQDN must resolve to first (the reserved IP)
#   EMAIL                     the ACME account's e-mail (expiry notices)
#   DIR                       the compose project
#   PROXY_SERVICE             the compose service that holds port 80
#   RESOLVE_TIMEOUT_SECONDS   how long to wait for FQDN to resolve to ADDRESS
#   PACKAGES                  the packages that provide certbot, space-separated

# shellcheck disable=SC2034 # the name in this step's messages, read by fail and say (lib.sh)
readonly STEP_NAME=tls

# resolved_address FQDN: the first IPv4 address the name resolves to here, or nothing.
resolved_address() {
    local fqdn=$1
    getent ahostsv4 "$fqdn" | awk 'NR == 1 { print $1 }'
}

# wait_until_resolves FQDN ADDRESS TIMEOUT: the record was just created or changed, and
# Let's Encrypt must see this host behind the name.
wait_until_resolves() {
    local fqdn=$1 address=$2 timeout=$3
    local deadline=$((SECONDS + timeout))
    until [[ "$(resolved_address "$fqdn")" == "$address" ]]; do
        if ((SECONDS >= deadline)); then
            fail "$fqdn does not resolve to $address after ${timeout}s; check the DNS record (pulumi stack output hostname), then run pulumi up again"
        fi
        sleep 10
    done
}

main() {
    (($# == 7)) || fail "usage: tls-http-01.sh FQDN ADDRESS EMAIL DIR PROXY_SERVICE RESOLVE_TIMEOUT_SECONDS PACKAGES, got $# arguments: build the step with components/recovery/scripts.ts"
    local fqdn=$1 address=$2 email=$3 dir=$4 proxy=$5 timeout=$6 packages=$7
    [[ $timeout =~ ^[0-9]+$ ]] || fail "RESOLVE_TIMEOUT_SECONDS is whole seconds, got $timeout: build the step with components/recovery/scripts.ts"
    install_certbot "$packages"
    wait_until_resolves "$fqdn" "$address" "$timeout"
    # The hooks are shell commands that certbot runs and keeps for renewals.
    local project service
    project=$(printf '%q' "$dir")
    service=$(printf '%q' "$proxy")
    sudo certbot certonly --standalone --non-interactive --agree-tos --no-eff-email --keep-until-expiring \
        --cert-name "$fqdn" -m "$email" -d "$fqdn" \
        --pre-hook "cd $project && docker compose stop $service" --post-hook "cd $project && docker compose start $service" ||
        fail "certbot could not get a certificate for $fqdn; read /var/log/letsencrypt/letsencrypt.log on the droplet (port 80 must be open to the internet)"
    keep_renewed "$fqdn" http-01 "$fqdn"
}

main "$@"
