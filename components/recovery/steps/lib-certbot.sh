# shellcheck shell=bash
# Summary: Helpers of the steps that get a certificate with certbot (tls-http-01, tls-dns-01).
#
# Put after lib.sh in the texts of the steps that call them (components/recovery/scripts.ts,
# STEP_HELPERS), and in no other text: a step that asks for no certificate holds no certbot.

# install_certbot PACKAGES: user-data installs them at boot; this covers a host built
# before the stack chose its challenge.
install_certbot() {
    local packages=$1 list
    command -v certbot >/dev/null && return 0
    read -r -a list <<<"$packages"
    sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y -q "${list[@]}" >/dev/null ||
        fail "cannot install $packages (apt-get install); check the droplet's outbound access and run pulumi up again"
}

# keep_renewed NAMES CHALLENGE FQDN: once certbot holds the certificate FQDN (for NAMES),
# make sure certbot.timer renews it, and say where it is.
keep_renewed() {
    local names=$1 challenge=$2 fqdn=$3
    # Debian's and Ubuntu's certbot package ships certbot.timer (twice a day); make sure it runs.
    sudo systemctl enable --now certbot.timer >/dev/null
    say "certificate for $names ($challenge) in /etc/letsencrypt/live/$fqdn/ (fullchain.pem, privkey.pem), renewed by certbot.timer"
}
