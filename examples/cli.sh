#!/usr/bin/env bash
# Everyday work from a shell script with the ojs-connect CLI: enqueue, read the
# job back from --json, pause and resume a queue, and branch on exit codes
# (0 ok, 1 failed, 2 usage, 3 server unreachable).
#
#   npx ojs-connect serve --port 8080 &          # or any OJS server
#   OJS_URL=http://localhost:8080 bash examples/cli.sh
set -euo pipefail
: "${OJS_URL:?set OJS_URL to the server, e.g. http://localhost:8080}"
# In a project that installed ojs-connect this is `npx ojs-connect`.
ojs() { node "$(dirname "$0")/../bin/ojs-connect.js" "$@"; }
field() { node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>console.log(JSON.parse(s)[process.argv[1]]))' "$1"; }

queue="example-cli-$$"
id=$(ojs enqueue report.build --args '[{"month":"2026-11"}]' --queue "$queue" --json | field id)
echo "enqueued $id"
ojs get "$id"

ojs pause "$queue"
ojs queues
ojs resume "$queue"

# Nobody works on this queue, so waiting times out: exit code 1, not a crash of the script.
set +e
ojs wait "$id" --timeout-ms 300 2>/dev/null
code=$?
set -e
case $code in
  0) echo "completed" ;;
  1) echo "not completed in time (exit 1)" ;;
  3) echo "server unreachable (exit 3)"; exit 3 ;;
  *) echo "unexpected exit $code"; exit "$code" ;;
esac

state=$(ojs cancel "$id" --json | field state)
echo "job $id is $state"
