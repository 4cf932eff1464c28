#!/bin/sh
# Interleaved A/B of the tiny cells over several checkouts, one session, one server.
#
#   taskset -c 0 VENV/bin/python bench/server.py PORT &
#   bench/ab_tiny.sh PORT ROUNDS LABEL=VENV[:PYTHONPATH] ... > runs.jsonl
#
# Each LABEL is a venv with routerhub_images installed (PYTHONPATH, if given, goes first:
# a snapshot of the package). Every run uses this checkout's bench/client.py, pinned to
# CPU 1, and prints its JSON line with "label" added; raw-httpx and raw-aiohttp run once a
# round in the first venv as the noise reference. The versions' order rotates each round.
# BENCH_SCALE (default 3) scales the request counts.
set -eu
port=$1
rounds=$2
shift 2
driver=$(cd "$(dirname "$0")" && pwd)/client.py
raw_venv=${1#*=}
raw_venv=${raw_venv%%:*}

run() {  # LABEL VENV PYTHONPATH CLIENT CELL
    line=$(cd /tmp && PYTHONPATH=$3 BENCH_SCALE=${BENCH_SCALE:-3} taskset -c 1 \
        "$2/bin/python" "$driver" "$4" "$5" "http://127.0.0.1:$port")
    echo "{\"label\": \"$1\", ${line#\{}"
}

round=0
while [ "$round" -lt "$rounds" ]; do
    uptime >&2
    for cell in tiny@16 tiny@64; do
        run raw "$raw_venv" "" raw-httpx "$cell"
        run raw "$raw_venv" "" raw-aiohttp "$cell"
        for client in rh-async-httpx rh-async-aiohttp; do
            for spec in "$@"; do
                label=${spec%%=*}
                venv=${spec#*=}
                path=""
                case $venv in *:*) path=${venv#*:} venv=${venv%%:*} ;; esac
                run "$label" "$venv" "$path" "$client" "$cell"
            done
        done
    done
    first=$1
    shift
    set -- "$@" "$first"
    round=$((round + 1))
done
