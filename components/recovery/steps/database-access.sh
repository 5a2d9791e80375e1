# shellcheck shell=bash
# Usage: database-access.sh HOST PORT USER DATABASE
# Summary: Run the SQL on stdin as the cluster's admin, with the admin password from stdin.
#
# Step "database-access" of the recovery chain (components/recovery/scripts.ts,
# databaseAccessScript). stdin: the admin password on the first line, then the SQL that sets
# the app role's password and rights. Only where to connect is an argument.
#
# Arguments:
#   HOST       the cluster's private host name (the droplet reaches it over the VPC)
#   PORT       its port (25060 on DigitalOcean)
#   USER       the admin user (doadmin)
#   DATABASE   the cluster's default database (defaultdb)
#
# psql reports errors tersely and without statement context, so a failure cannot print
# the SQL, which holds the role's password verifier.

# shellcheck disable=SC2034 # the name in this step's messages, read by fail and say (lib.sh)
readonly STEP_NAME=database

# read_admin_password: take the first stdin line into PGPASSWORD, which psql reads.
# bash reads a pipe byte by byte, so `read` takes exactly that line and psql the rest.
read_admin_password() {
    IFS= read -r PGPASSWORD || fail "no admin password arrived on stdin"
    export PGPASSWORD
}

main() {
    (($# == 4)) || fail "usage: database-access.sh HOST PORT USER DATABASE, got $# arguments: build the step with components/recovery/scripts.ts"
    local host=$1 port=$2 user=$3 database=$4
    command -v psql >/dev/null || fail "psql is missing: user-data installs postgresql-client; replace the droplet"
    read_admin_password
    psql "host=$host port=$port user=$user dbname=$database sslmode=require connect_timeout=20" \
        -X -q -v ON_ERROR_STOP=1 -v VERBOSITY=terse -v SHOW_CONTEXT=never -f - ||
        fail "the admin SQL failed on $host:$port; check that the database firewall trusts this droplet's tag and that the admin password in the state is current (pulumi refresh)"
    say "app role password and privileges are in place"
}

main "$@"
