#!/usr/bin/env bash
# Regenerates the provider's reference (docs/) with tfplugindocs, from the
# provider's schema as the pinned OpenTofu reports it (`tofu providers schema
# -json` on the build in the mirror) and the examples in examples/. Run it after
# a schema change; internal/provider's tests check that docs/ covers the schema.
# tfplugindocs is pinned as TFPLUGINDOCS_VERSION in versions.env and comes from
# the Go module proxy (the first run fetches it).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
root="$(cd "$here/../.." && pwd)"
version="$(sed -n 's/^TFPLUGINDOCS_VERSION=\([0-9A-Za-z.+-]*\).*/\1/p' "$root/versions.env" | tail -1)"
[ -n "$version" ] || { echo "docs.sh: no TFPLUGINDOCS_VERSION in versions.env" >&2; exit 1; }
tofu="$("$root/scripts/install-tofu.sh" | tail -1)"
mirror="$("$root/scripts/install-provider.sh" cloudplane | tail -1)"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/cli.tfrc" <<CLI
provider_installation {
  filesystem_mirror {
    path    = "$mirror"
    include = ["registry.opentofu.org/cloudplane/*"]
  }
}
CLI
printf 'terraform {\n  required_providers {\n    cloudplane = { source = "cloudplane/cloudplane" }\n  }\n}\n' >"$tmp/main.tf"
export TF_CLI_CONFIG_FILE="$tmp/cli.tfrc" TF_IN_AUTOMATION=1 CHECKPOINT_DISABLE=1
(cd "$tmp" && "$tofu" init -input=false -no-color >/dev/null && "$tofu" providers schema -json >full.json)
# tfplugindocs looks the provider up by its short name.
python3 - "$tmp/full.json" "$tmp/schema.json" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
s["provider_schemas"] = {"cloudplane": s["provider_schemas"]["registry.opentofu.org/cloudplane/cloudplane"]}
json.dump(s, open(sys.argv[2], "w"))
PY
cd "$here"
go run "github.com/hashicorp/terraform-plugin-docs/cmd/tfplugindocs@v$version" generate \
  --provider-name cloudplane --rendered-provider-name "cloudplane" --providers-schema "$tmp/schema.json"
