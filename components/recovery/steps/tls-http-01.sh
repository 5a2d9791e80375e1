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
set -euo pipefail

# fail MESSAGE: one error line that says what to do, then exit 1.
fail() {
    printf 'income-fortress tls: error: %s\n' "$*" >&2
    exit 1
}

# say MESSAGE: one progress line.
say() {
    printf 'income-fortress tls: %s\n' "$*"
}

# install_certbot PACKAGES: user-data installs them at boot; this covers a host built
# before the stack chose its challenge.
install_certbot() {
    local packages=$1 list
    command -v certbot >/dev/null && return 0
    read -r -a list <<<"$packages"
    sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${list[@]}" >/dev/null ||
        fail "cannot install $packages (apt-get install); check the droplet's outbound access and run pulumi up again"
}

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
    # Debian's and Ubuntu's certbot package ships certbot.timer (twice a day); make sure it runs.
    sudo systemctl enable --now certbot.timer >/dev/null
    say "certificate for $fqdn (http-01) in /etc/letsencrypt/live/$fqdn/ (fullchain.pem, privkey.pem), renewed by certbot.timer"
}

main "$@"
