#!/bin/sh
# Watch-folder driver of the transformer container (docker-compose.yml, service "transformer").
#
#   watch-inbox.sh INBOX RESULTS ARCHIVE [INTERVAL_SECONDS] [MAX_TRIES]
#
# Every INTERVAL seconds (default 2) each *.csv / *.xlsx file in INBOX whose name does not start
# with "." is analysed with
#   clean-my-data analyze FILE --analysis-id ID --output RESULTS/ID.json
# ID is the file's stem (lower case, [a-z0-9._-], starting with a letter or digit, at most 80
# characters; "input" when nothing is left) + "-" + the first 12
# hex digits of its sha256: the same bytes dropped twice are the same analysis (the outbox makes
# the re-run idempotent); other bytes under the same name are a new analysis.
#
#   exit 0   the final object is in RESULTS/ID.json; the input moves to ARCHIVE/done/
#   exit 65  the input was rejected as bad data (one-line error; 2, a usage error, likewise);
#            it moves to ARCHIVE/failed/ with NAME.error holding the message
#   other    (database down, crash): the file stays and is retried next round; after MAX_TRIES
#            (default 3) such failures it moves to ARCHIVE/failed/ too
#
# Producers must write under a dot-name (or elsewhere) and rename into INBOX, so a half-copied
# file is never picked up. A container killed mid-analysis leaves the file in INBOX; it is
# analysed again after the restart under the same ID. Files are handled one at a time.
set -eu

if [ "$#" -lt 3 ]; then
    echo "usage: $0 INBOX RESULTS ARCHIVE [INTERVAL_SECONDS] [MAX_TRIES]" >&2
    exit 64
fi
inbox=$1
results=$2
archive=$3
interval=${4:-2}
max_tries=${5:-3}
tries_dir="$archive/.tries"

mkdir -p "$inbox" "$results" "$archive/done" "$archive/failed" "$tries_dir"

running=1
trap 'running=0' TERM INT

json_safe() {
    # Drop the characters that would need escaping in a JSON string (quotes, backslashes,
    # control characters).
    # shellcheck disable=SC1003
    printf '%s' "$1" | tr -d '"\\' | tr -d '\000-\037'
}

log() {
    # One JSON line per event, like the application's own logs.
    printf '{"event": "%s", "file": "%s", "detail": "%s"}\n' \
        "$1" "$(json_safe "$2")" "$(json_safe "$3")" >&2
}

analysis_id_for() {
    stem=$(basename "$1")
    stem=${stem%.*}
    stem=$(printf '%s' "$stem" | tr '[:upper:]' '[:lower:]' | tr -c 'a-z0-9._-' '_' | sed 's/^[^a-z0-9]*//' \
        | cut -c 1-80)
    digest=$(sha256sum "$1" | cut -c 1-12)
    printf '%s-%s' "${stem:-input}" "$digest"
}

count_try() {
    file=$tries_dir/$1
    count=0
    [ -f "$file" ] && count=$(cat "$file")
    count=$((count + 1))
    printf '%s' "$count" >"$file"
    printf '%s' "$count"
}

process() {
    path=$1
    name=$(basename "$path")
    id=$(analysis_id_for "$path")
    err=$(mktemp)
    status=0
    clean-my-data analyze "$path" --analysis-id "$id" --output "$results/$id.json" 2>"$err" \
        || status=$?
    if [ "$status" -eq 0 ]; then
        mv -f "$path" "$archive/done/$name"
        rm -f "$tries_dir/$name"
        log analysis_committed "$name" "$id"
    elif [ "$status" -eq 65 ] || [ "$status" -eq 2 ]; then
        mv -f "$path" "$archive/failed/$name"
        tail -n 1 "$err" >"$archive/failed/$name.error"
        rm -f "$tries_dir/$name"
        log input_rejected "$name" "$(tail -n 1 "$err")"
    else
        tries=$(count_try "$name")
        if [ "$tries" -ge "$max_tries" ]; then
            mv -f "$path" "$archive/failed/$name"
            tail -n 20 "$err" >"$archive/failed/$name.error"
            rm -f "$tries_dir/$name"
            log analysis_abandoned "$name" "exit $status after $tries tries"
        else
            log analysis_failed "$name" "exit $status, try $tries of $max_tries"
        fi
    fi
    rm -f "$err"
}

log watcher_started "$inbox" "interval ${interval}s"
while [ "$running" -eq 1 ]; do
    for path in "$inbox"/*.csv "$inbox"/*.CSV "$inbox"/*.xlsx "$inbox"/*.XLSX; do
        [ "$running" -eq 1 ] || break
        [ -f "$path" ] || continue
        process "$path"
    done
    # Sleep in the background so SIGTERM is handled at once, not after the sleep.
    sleep "$interval" &
    wait $! || true
done
log watcher_stopped "$inbox" "signal"
