#!/bin/sh
# Render the SeaweedFS S3 gateway's identity file from the environment, then exec the command.
#
#   render-s3-config.sh OUTPUT_JSON [COMMAND ARGS...]
#
# Two identities, no anonymous access:
#   admin        S3_ADMIN_ACCESS_KEY / S3_ADMIN_SECRET_KEY: every action; used only by the
#                one-shot bucket-init step.
#   clean-my-data  CMD_S3_ACCESS_KEY / CMD_S3_SECRET_KEY: Read, Write and List on S3_BUCKET only
#                (it cannot create or delete buckets, nor touch another bucket).
# The keys come from .env through docker-compose.yml; they are never written into any tracked
# file. The output file is created mode 0600. Keys may hold only [A-Za-z0-9+/=._-] so they can
# be placed in JSON without escaping; anything else is refused.
set -eu

if [ "$#" -lt 1 ]; then
    echo "usage: $0 OUTPUT_JSON [COMMAND ARGS...]" >&2
    exit 64
fi
output=$1
shift

require() {
    # require NAME VALUE MIN_LENGTH
    if [ -z "$2" ]; then
        echo "render-s3-config: $1 is not set" >&2
        exit 78
    fi
    case $2 in
        *[!A-Za-z0-9+/=._-]*)
            echo "render-s3-config: $1 holds a character outside [A-Za-z0-9+/=._-]" >&2
            exit 78
            ;;
    esac
    if [ "${#2}" -lt "$3" ]; then
        echo "render-s3-config: $1 must be at least $3 characters" >&2
        exit 78
    fi
}

require S3_ADMIN_ACCESS_KEY "${S3_ADMIN_ACCESS_KEY:-}" 3
require S3_ADMIN_SECRET_KEY "${S3_ADMIN_SECRET_KEY:-}" 16
require CMD_S3_ACCESS_KEY "${CMD_S3_ACCESS_KEY:-}" 3
require CMD_S3_SECRET_KEY "${CMD_S3_SECRET_KEY:-}" 16
case ${S3_BUCKET:-} in
    "" | *[!a-z0-9.-]*)
        echo "render-s3-config: S3_BUCKET must be a bucket name ([a-z0-9.-])" >&2
        exit 78
        ;;
esac
if [ "$S3_ADMIN_ACCESS_KEY" = "$CMD_S3_ACCESS_KEY" ]; then
    echo "render-s3-config: the admin and application access keys must differ" >&2
    exit 78
fi

umask 077
tmp="$output.tmp.$$"
cat >"$tmp" <<JSON
{
  "identities": [
    {
      "name": "admin",
      "credentials": [
        {"accessKey": "$S3_ADMIN_ACCESS_KEY", "secretKey": "$S3_ADMIN_SECRET_KEY"}
      ],
      "actions": ["Admin", "Read", "Write", "List", "Tagging"]
    },
    {
      "name": "clean-my-data",
      "credentials": [
        {"accessKey": "$CMD_S3_ACCESS_KEY", "secretKey": "$CMD_S3_SECRET_KEY"}
      ],
      "actions": ["Read:$S3_BUCKET", "Write:$S3_BUCKET", "List:$S3_BUCKET"]
    }
  ]
}
JSON
mv -f "$tmp" "$output"
echo "render-s3-config: wrote $output (identities: admin, clean-my-data on bucket $S3_BUCKET)" >&2

if [ "$#" -gt 0 ]; then
    exec "$@"
fi
