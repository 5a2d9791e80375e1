# shellcheck shell=bash
# Usage: tls-dns-01.sh EMAIL DIR PROXY_SERVICE CREDENTIALS_FILE PROPAGATION_SECONDS PACKAGES FQDN [NAME...]
# Summary: Get a Let's Encrypt certificate with certbot's dns-digitalocean plugin (DNS-01).
#
# Step "tls" of the recovery chain on a stack with tlsChallenge dns-01
# (components/recovery/scripts.ts, tlsScript). DNS-01 proves the names with TXT records
# through DigitalOcean DNS, so it works for a name that points elsewhere: a dr host holds
# a certificate for the public name before the cutover and keeps renewing it after a
# failback, and it works while isolated. The deploy hook restarts a running proxy after a
# renewal so it loads the new files. --cert-name keeps one lineage per host; a changed name
# list replaces that lineage's certificate, and --keep-until-expiring keeps a valid one.
#
# Arguments:
#   EMAIL                 the ACME account's e-mail (expiry notices)
#   DIR                   the compose project
#   PROXY_SERVICE         the compose service that serves the certificate
#   CREDENTIALS_FILE      the plugin's credentials file, written by the secret-dns-token step
#   PROPAGATION_SECONDS   how long certbot waits after writing the TXT records
#   PACKAGES              the packages that provide certbot and the plugin, space-separated
#   FQDN                  the stack's record; it also names the certificate
#   NAME...               more names on the same certificate (a dr stack: the public name)

# shellcheck disable=SC2034 # the name in this step's messages, read by fail and say (lib.sh)
readonly STEP_NAME=tls

# joined NAME...: the names as one list for messages, "a, b".
joined() {
    local list
    printf -v list '%s, ' "$@"
    printf '%s' "${list%, }"
}

main() {
    (($# >= 7)) || fail "usage: tls-dns-01.sh EMAIL DIR PROXY_SERVICE CREDENTIALS_FILE PROPAGATION_SECONDS PACKAGES FQDN [NAME...], got $# arguments: build the step with components/recovery/scripts.ts"
    local email=$1 dir=$2 proxy=$3 credentials=$4 propagation=$5 packages=$6
    shift 6
    local fqdn=$1 names domains=() name
    names=$(joined "$@")
    for name in "$@"; do domains+=(-d "$name"); done
    install_certbot "$packages"
    sudo test -s "$credentials" || fail "$credentials is missing, so certbot has no DigitalOcean token; the secret-dns-token step writes it: run pulumi up again"
    # The hook is a shell command that certbot runs and keeps for renewals. It restarts
    # only a proxy that runs: the first certificate comes before compose up.
    local project service
    project=$(printf '%q' "$dir")
    service=$(printf '%q' "$proxy")
    local deploy_hook="cd $project && if [ -n \"\$(docker compose ps -q $service)\" ]; then docker compose restart $service; fi"
    sudo certbot certonly --dns-digitalocean --dns-digitalocean-credentials "$credentials" \
        --dns-digitalocean-propagation-seconds "$propagation" --non-interactive --agree-tos --no-eff-email --keep-until-expiring \
        --cert-name "$fqdn" -m "$email" "${domains[@]}" --deploy-hook "$deploy_hook" ||
        fail "certbot could not get a certificate for $names over DNS-01; read /var/log/letsencrypt/letsencrypt.log on the droplet (the token needs the domain read and write scopes, and the zone must be in DigitalOcean DNS)"
    keep_renewed "$names" dns-01 "$fqdn"
}

main "$@"
