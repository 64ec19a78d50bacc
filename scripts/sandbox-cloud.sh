# shellcheck shell=bash
# Sourced by shell tools that apply the sandbox modules outside the platform
# (tests/modules/check_modules.sh, bench/run_overhead.sh): a sandbox cloud for
# the cloudplane/sandbox provider to talk to.
#
#   sandbox_cloud_start DIR   `cloudplane serve` (CP_BINARY, default build/cloudplane)
#                             on a free loopback port with data dir DIR/sandbox-cloud;
#                             exports SANDBOX_ENDPOINT and SANDBOX_API_KEY (a key from
#                             `cloudplane admin sandbox-key`); returns 1 with a message
#                             when it cannot start
#   sandbox_cloud_stop        stops it (safe to call when it never started)
SANDBOX_CLOUD_PID=

sandbox_cloud_start() {
  local root bin data url="" key i
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
  bin=${CP_BINARY:-$root/build/cloudplane}
  data="$1/sandbox-cloud"
  [ -x "$bin" ] || { echo "no cloudplane binary at $bin (make build, or set CP_BINARY)"; return 1; }
  mkdir -p "$data"
  env -i PATH="$PATH" HOME="$data" ${ASAN_OPTIONS:+ASAN_OPTIONS="$ASAN_OPTIONS"} \
    "$bin" serve --listen 127.0.0.1:0 --data-dir "$data" --web-dir "$data/no-web" >"$data.out" 2>"$data.log" &
  SANDBOX_CLOUD_PID=$!
  for i in $(seq 1 150); do
    url=$(grep -oE 'http://127\.0\.0\.1:[0-9]+' "$data.out" | head -n 1)
    [ -n "$url" ] && break
    kill -0 "$SANDBOX_CLOUD_PID" 2>/dev/null || break
    sleep 0.1
  done
  [ -n "$url" ] || { echo "the sandbox cloud did not start:"; tail -n 20 "$data.log"; return 1; }
  key=$(env -i PATH="$PATH" HOME="$data" "$bin" admin sandbox-key --data-dir "$data" 2>>"$data.log") &&
    [[ $key == sbx_* ]] || { echo "cloudplane admin sandbox-key failed:"; tail -n 20 "$data.log"; return 1; }
  export SANDBOX_ENDPOINT=$url SANDBOX_API_KEY=$key
}

sandbox_cloud_stop() {
  if [ -n "$SANDBOX_CLOUD_PID" ]; then
    kill "$SANDBOX_CLOUD_PID" 2>/dev/null
    wait "$SANDBOX_CLOUD_PID" 2>/dev/null
    SANDBOX_CLOUD_PID=
  fi
  return 0
}
