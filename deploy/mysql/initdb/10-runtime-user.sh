#!/bin/bash
# MySQL image init step (runs once, when the data volume is first initialised): create the
# least-privilege RUNTIME user the transformer and relay connect as.
#
# Users in docker-compose.yml:
#   MYSQL_USER     (created by the image with ALL on MYSQL_DATABASE): the MIGRATION user, used
#                  only by the one-shot `clean-my-data db upgrade` service.
#   CMD_DB_USER    (created here): SELECT, INSERT, UPDATE, DELETE on MYSQL_DATABASE only; no
#                  DDL, so a compromised worker cannot drop or alter tables.
# The image sources this file (mode 0644) or runs it (mode 0755); both work, since it talks to
# the temporary init server over its socket as root with the client binary. The body runs in a
# subshell so that, when sourced, its shell options and exit do not leak into the entrypoint
# (whose `set -e` still stops the init on a non-zero status).
(
set -euo pipefail

cmd_require_safe() {
    # Refuse values that would need SQL quoting: the names and password go into a statement.
    case $2 in
        "" | *[\'\"\\\`]*)
            echo "10-runtime-user: $1 is empty or holds a quote or backslash" >&2
            exit 1
            ;;
    esac
}

cmd_require_safe CMD_DB_USER "${CMD_DB_USER:-}"
cmd_require_safe CMD_DB_PASSWORD "${CMD_DB_PASSWORD:-}"
cmd_require_safe MYSQL_DATABASE "${MYSQL_DATABASE:-}"

MYSQL_PWD="$MYSQL_ROOT_PASSWORD" mysql --protocol=socket --user=root --database=mysql <<SQL
CREATE USER IF NOT EXISTS '${CMD_DB_USER}'@'%' IDENTIFIED BY '${CMD_DB_PASSWORD}';
GRANT SELECT, INSERT, UPDATE, DELETE ON \`${MYSQL_DATABASE}\`.* TO '${CMD_DB_USER}'@'%';
SQL
echo "10-runtime-user: created runtime user ${CMD_DB_USER} (DML only on ${MYSQL_DATABASE})"
)
