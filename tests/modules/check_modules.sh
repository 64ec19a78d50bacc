#!/usr/bin/env bash
# Checks the OpenTofu modules in terraform/modules and backend/data/catalog.json.
#
#   tests/modules/check_modules.sh [path/to/tofu]
#
# Without an argument the pinned OpenTofu from scripts/install-tofu.sh is used.
# Cloud providers are taken only from a local filesystem mirror
# (CLOUDPLANE_TF_PLUGIN_DIR, default ~/.cache/cloudplane/tofu/plugins, laid out as
# <dir>/registry.opentofu.org/hashicorp/<name>/<version>/<os_arch>/); with no
# mirror the cloud modules' `validate` is skipped and said so. Nothing here
# reaches the network. The sandbox modules are applied for real with local state,
# their provider (cloudplane/sandbox, from scripts/install-provider.sh's mirror)
# talking to a sandbox cloud: `cloudplane serve` (CP_BINARY, default build/cloudplane)
# on a free loopback port with a temp data dir, stopped at the end.
# Ends with the line "N passed, N failed" and exits non-zero if anything failed.
set -uo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
MODULES="$ROOT/terraform/modules"
CATALOG="$ROOT/backend/data/catalog.json"
CLOUD_MODULES="aws_vm aws_s3 azure_vm azure_blob gcp_vm gcp_storage"
SANDBOX_MODULES="sandbox_vm sandbox_storage"

if [ $# -ge 1 ]; then
  TOFU=$1
else
  TOFU=$("$ROOT/scripts/install-tofu.sh" | tail -n 1) || { echo "cannot install OpenTofu"; echo "0 passed, 1 failed"; exit 1; }
fi
[ -x "$TOFU" ] || { echo "not executable: $TOFU"; echo "0 passed, 1 failed"; exit 1; }
TOFU=$(cd "$(dirname "$TOFU")" && pwd)/$(basename "$TOFU")

passed=0 failed=0 skipped=0
pass() { passed=$((passed + 1)); echo "PASS: $*"; }
fail() { failed=$((failed + 1)); echo "FAIL: $*"; }
skip() { skipped=$((skipped + 1)); echo "SKIP: $*"; }
# Prints a command's saved output, indented, after a failure.
show() { sed 's/^/    | /' "$1" | tail -n 25; }

WORK=$(mktemp -d "${TMPDIR:-/tmp}/cloudplane-modules.XXXXXX")
# shellcheck source=scripts/sandbox-cloud.sh
. "$ROOT/scripts/sandbox-cloud.sh"
# shellcheck disable=SC2317 # called by the trap
cleanup() {
  sandbox_cloud_stop
  rm -rf "$WORK"
}
trap cleanup EXIT

# A CLI config of our own: providers only from the local mirrors, never a registry.
# Cloud providers from PLUGIN_DIR; cloudplane/sandbox from the mirror install-provider.sh fills.
PLUGIN_DIR=${CLOUDPLANE_TF_PLUGIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/cloudplane/tofu/plugins}
SBX_MIRROR=${CLOUDPLANE_PROVIDER_MIRROR:-$("$ROOT/scripts/install-provider.sh")} ||
  { echo "cannot build the sandbox provider"; echo "0 passed, 1 failed"; exit 1; }
cat >"$WORK/tofurc" <<EOF
provider_installation {
  filesystem_mirror {
    path    = "$SBX_MIRROR"
    include = ["registry.opentofu.org/cloudplane/*"]
  }
  filesystem_mirror {
    path    = "$PLUGIN_DIR"
    exclude = ["registry.opentofu.org/cloudplane/*"]
  }
}
EOF
export TF_CLI_CONFIG_FILE="$WORK/tofurc"
export TF_IN_AUTOMATION=1 TF_INPUT=0 CHECKPOINT_DISABLE=1
unset TF_PLUGIN_CACHE_DIR TF_LOG TF_LOG_PATH TF_WORKSPACE TF_CLI_ARGS TF_CLI_ARGS_plan TF_CLI_ARGS_apply TF_CLI_ARGS_init

# Runs tofu in directory $1 with its own data dir; the remaining arguments go to tofu.
tf() {
  local dir=$1
  shift
  (cd "$dir" && TF_DATA_DIR="$dir/.tfdata" timeout 60 "$TOFU" "$@" -no-color)
}
# Output on one line, so wrapped error messages can be matched.
flat() { tr -s ' \n' ' ' <"$1"; }

echo "== OpenTofu: $("$TOFU" version | head -n 1)"

# The sandbox cloud the sandbox modules' provider talks to.
if sandbox_cloud_start "$WORK"; then
  pass "sandbox cloud started at $SANDBOX_ENDPOINT"
else
  fail "sandbox cloud started"
fi

# ---------------------------------------------------------------- catalog
echo "== catalog"
if python3 -m json.tool "$CATALOG" >/dev/null 2>"$WORK/json.err"; then
  pass "catalog.json is valid JSON"
else
  fail "catalog.json is valid JSON"; show "$WORK/json.err"
fi

# Schema, POSIX-ERE patterns (compiled with the C library's regcomp, as the
# backend does), and catalog allow-lists equal to each module's validation.
python3 - "$CATALOG" "$MODULES" >"$WORK/catalog.out" 2>&1 <<'PY'
import ctypes, ctypes.util, json, os, re, sys

catalog_path, modules = sys.argv[1], sys.argv[2]
results = []
def check(label, problems):
    results.append((label, problems))

try:
    cat = json.load(open(catalog_path))
except Exception as e:
    print(f"FAIL catalog loads: {e}")
    sys.exit(0)

libc = ctypes.CDLL(ctypes.util.find_library("c"))
REG_EXTENDED, REG_NOSUB = 1, 8
def ere_compile(p):
    buf = ctypes.create_string_buffer(1024)
    if libc.regcomp(buf, p.encode(), REG_EXTENDED | REG_NOSUB) != 0:
        return None
    return buf
def ere_match(buf, s):
    return libc.regexec(buf, s.encode(), 0, None, 0) == 0

def keys(obj, want, where, probs):
    if not isinstance(obj, dict):
        probs.append(f"{where}: not an object"); return False
    if set(obj) != set(want):
        probs.append(f"{where}: keys {sorted(obj)} != {sorted(want)}"); return False
    return True

# Schema
p = []
keys(cat, ["version", "clouds"], "top", p)
if cat.get("version") != 1:
    p.append("version must be 1")
clouds = cat.get("clouds", [])
if [c.get("id") for c in clouds] != ["aws", "azure", "gcp", "sandbox"]:
    p.append("clouds must be aws, azure, gcp, sandbox in that order")
date = re.compile(r"^\d{4}-\d{2}-\d{2}$")
for c in clouds:
    w = f"cloud {c.get('id')}"
    sim = c.get("id") == "sandbox"
    # Workload identity (no stored secret) is for the real clouds only.
    keys(c, ["id", "name", "simulated", "credentials", "kinds"] + ([] if sim else ["workload_identity"]), w, p)
    if c.get("simulated") is not sim:
        p.append(f"{w}: simulated must be {sim}")
    if sim and c.get("name") != "Sandbox (simulated cloud)":
        p.append(f"{w}: sandbox needs name 'Sandbox (simulated cloud)'")
    if sim and [f.get("name") for f in c.get("credentials", [])] != ["api_key"]:
        p.append(f"{w}: the sandbox takes one credential, its api_key")
    if not sim and not c.get("credentials"):
        p.append(f"{w}: credentials is empty")
    def field(f, fw, may_go_in_file=False):
        if not {"name", "label", "required", "secret", "min", "max", "input"} <= set(f):
            p.append(f"{fw}: needs name, label, required, secret, min, max, input")
        if set(f) - {"name", "label", "env", "tfvar", "required", "secret", "min", "max", "pattern", "rule",
                     "placeholder", "input", "generated"}:
            p.append(f"{fw}: unknown keys")
        if f.get("generated") and (not sim or f.get("required")):
            p.append(f"{fw}: only an optional field of the simulated cloud may be generated")
        if f.get("input") not in ("text", "password", "file"):
            p.append(f"{fw}: input must be text, password or file")
        if ("pattern" in f) != ("rule" in f):
            p.append(f"{fw}: pattern and rule come together")
        if "pattern" in f and ere_compile(f["pattern"]) is None:
            p.append(f"{fw}: regcomp(REG_EXTENDED) rejects the pattern")
        if not f.get("env") and not f.get("tfvar") and not may_go_in_file:
            p.append(f"{fw}: goes nowhere (no env, no tfvar)")
    for f in c.get("credentials", []):
        field(f, f"{w} credential {f.get('name')}")
    wi = c.get("workload_identity")
    if wi is not None:
        ww = f"{w} workload_identity"
        if not isinstance(wi, dict) or not {"default_audience", "fields"} <= set(wi) \
                or set(wi) - {"default_audience", "fields", "token_file_env", "credentials_file", "env"}:
            p.append(f"{ww}: needs default_audience and fields; may have token_file_env, credentials_file, env")
            wi = {}
        # The token reaches the provider by one way: an env naming the file, or a credentials file around it.
        if ("token_file_env" in wi) == ("credentials_file" in wi):
            p.append(f"{ww}: exactly one of token_file_env and credentials_file")
        if not isinstance(wi.get("env", {}), dict):
            p.append(f"{ww}: env must be an object")
        if not wi.get("fields"):
            p.append(f"{ww}: fields is empty")
        for f in wi.get("fields", []):
            fw = f"{ww} field {f.get('name')}"
            field(f, fw, may_go_in_file="credentials_file" in wi)
            if f.get("secret") is not False or f.get("input") == "password":
                p.append(f"{fw}: workload identity stores no secret")
    kinds = c.get("kinds", [])
    if [k.get("id") for k in kinds] != ["vm", "storage"]:
        p.append(f"{w}: kinds must be vm, storage")
    for k in kinds:
        kw = f"{w}/{k.get('id')}"
        if k.get("id") == "vm":
            # A VM that cannot stop says why (not_stoppable_reason).
            keys(k, ["id", "module", "label", "name_rule", "regions", "sizes", "stoppable", "stopped_price_basis"]
                 + ([] if k.get("stoppable") else ["not_stoppable_reason"]), kw, p)
            if not isinstance(k.get("stoppable"), bool):
                p.append(f"{kw}: stoppable is not a boolean")
            for s in k.get("sizes", []):
                keys(s, ["id", "vcpu", "memory_gib", "hourly_usd", "stopped_monthly_cost_usd", "stopped_source", "source",
                         "retrieved", "price_region"], f"{kw} size", p)
                if not (isinstance(s.get("stopped_monthly_cost_usd"), (int, float))
                        and 0 < s["stopped_monthly_cost_usd"] < s.get("hourly_usd", 0) * 730):
                    p.append(f"{kw} size {s.get('id')}: stopped_monthly_cost_usd must be above 0 and below the running cost")
                if not (isinstance(s.get("vcpu"), int) and s["vcpu"] > 0 and isinstance(s.get("memory_gib"), (int, float)) and s["memory_gib"] > 0):
                    p.append(f"{kw} size {s.get('id')}: vcpu/memory_gib")
                if not (isinstance(s.get("hourly_usd"), (int, float)) and s["hourly_usd"] > 0):
                    p.append(f"{kw} size {s.get('id')}: hourly_usd")
                if not date.match(str(s.get("retrieved"))):
                    p.append(f"{kw} size {s.get('id')}: retrieved is not YYYY-MM-DD")
                if s.get("price_region") not in [r.get("id") for r in k.get("regions", [])]:
                    p.append(f"{kw} size {s.get('id')}: price_region not among regions")
            if not k.get("sizes"):
                p.append(f"{kw}: no sizes")
        else:
            keys(k, ["id", "module", "label", "name_rule", "regions", "gb_month_usd", "source", "retrieved", "price_region",
                     "stoppable", "public_when"], kw, p)
            # Guardrails (no_public_buckets): which planned attribute value opens the bucket;
            # each names a resource type the module declares, which takes var.public.
            main = os.path.join(modules, k.get("module", ""), "main.tf")
            tf = open(main).read() if os.path.isfile(main) else ""
            if not k.get("public_when"):
                p.append(f"{kw}: public_when is empty")
            for w in k.get("public_when") or []:
                keys(w, ["type", "path", "value"], f"{kw} public_when", p)
                if f'resource "{w.get("type")}"' not in tf:
                    p.append(f"{kw} public_when: module {k.get('module')} declares no {w.get('type')}")
            if "var.public" not in tf:
                p.append(f"{kw}: module {k.get('module')} does not use var.public")
            if k.get("stoppable") is not False:
                p.append(f"{kw}: storage is never stoppable")
            if not (isinstance(k.get("gb_month_usd"), (int, float)) and k["gb_month_usd"] > 0):
                p.append(f"{kw}: gb_month_usd")
            if not date.match(str(k.get("retrieved"))):
                p.append(f"{kw}: retrieved is not YYYY-MM-DD")
            if k.get("price_region") not in [r.get("id") for r in k.get("regions", [])]:
                p.append(f"{kw}: price_region not among regions")
        regs = k.get("regions", [])
        if not 3 <= len(regs) <= 6:
            p.append(f"{kw}: needs 3-6 regions")
        for r in regs:
            keys(r, ["id", "name"], f"{kw} region", p)
        keys(k.get("name_rule"), ["pattern", "min", "max", "description"], f"{kw} name_rule", p)
        if k.get("module") and not os.path.isdir(os.path.join(modules, k["module"])):
            p.append(f"{kw}: module {k['module']} not found")
check("catalog schema", p)

# Name rules: POSIX ERE, same answers as the module's (RE2) regex on samples, min/max agree.
samples = ["a", "ab", "abc", "a-b", "a--b", "web-1", "Web-1", "1web", "web-", "-web", "web.example", "web_1",
           "my_bucket", "a" * 24, "a" * 25, "a" * 63, "a" * 64, "a" * 65, "abc123", "x9", "9x", "a b", ""]
for c in clouds:
    for k in c.get("kinds", []):
        r = k.get("name_rule") or {}
        pat, lo, hi = r.get("pattern", ""), r.get("min", 0), r.get("max", 0)
        p = []
        if "\\" in pat or "(?" in pat or re.search(r"[*+?}]\?", pat):
            p.append(f"pattern {pat!r} uses non-POSIX syntax")
        buf = ere_compile(pat)
        if buf is None:
            p.append(f"regcomp(REG_EXTENDED) rejects {pat!r}")
        else:
            for s in samples:
                if ere_match(buf, s) != bool(re.search(pat, s)):
                    p.append(f"POSIX and RE2-style answers differ for {s!r}")
            if not (ere_match(buf, "a" * lo) and ere_match(buf, "a" * hi)):
                p.append(f"'a'*min or 'a'*max does not match (min={lo}, max={hi})")
            if ere_match(buf, "a" * (hi + 1)) or (lo > 1 and ere_match(buf, "a" * (lo - 1))):
                p.append(f"pattern accepts lengths outside {lo}-{hi}")
            libc.regfree(buf)
        check(f"name rule {c.get('id')}/{k.get('id')} is POSIX ERE and matches min/max", p)

# Catalog allow-lists == module validation.
def var_block(text, name):
    m = re.search(r'^variable "%s" \{\n(.*?)^\}' % re.escape(name), text, re.S | re.M)
    return m.group(1) if m else None
def hcl_strings(s):
    return [x.replace('\\"', '"').replace("\\\\", "\\") for x in re.findall(r'"((?:[^"\\]|\\.)*)"', s)]

for c in clouds:
    for k in c.get("kinds", []):
        mod = k.get("module", "")
        p = []
        try:
            text = open(os.path.join(modules, mod, "variables.tf")).read()
        except OSError as e:
            check(f"{mod}: catalog matches variables.tf", [str(e)]); continue
        b = var_block(text, "name")
        m = b and re.search(r'can\(regex\("((?:[^"\\]|\\.)*)", var\.name\)\)', b)
        got = hcl_strings('"%s"' % m.group(1))[0] if m else None
        if got != k.get("name_rule", {}).get("pattern"):
            p.append(f"name pattern: module {got!r} != catalog {k.get('name_rule', {}).get('pattern')!r}")
        want_lists = {"region": [r["id"] for r in k.get("regions", [])]}
        if k.get("id") == "vm":
            want_lists["size"] = [s["id"] for s in k.get("sizes", [])]
        elif var_block(text, "size") is not None:
            p.append("storage module declares size")
        for var, want in want_lists.items():
            b = var_block(text, var)
            m = b and re.search(r"contains\(\[(.*?)\], var\.%s\)" % var, b, re.S)
            got = hcl_strings(m.group(1)) if m else None
            if got != want:
                p.append(f"{var}: module {got} != catalog {want}")
        check(f"{mod}: catalog name rule, regions and sizes equal variables.tf validation", p)

for label, probs in results:
    print(("PASS " if not probs else "FAIL ") + label)
    for x in probs:
        print("    | " + x)
PY
if grep -qE '^(PASS|FAIL) ' "$WORK/catalog.out"; then
  while IFS= read -r line; do
    case "$line" in
      "PASS "*) pass "${line#PASS }" ;;
      "FAIL "*) fail "${line#FAIL }" ;;
      *) echo "$line" ;;
    esac
  done <"$WORK/catalog.out"
else
  fail "catalog checks ran"; show "$WORK/catalog.out"
fi

# ---------------------------------------------------------------- fmt
echo "== fmt"
if (cd "$ROOT" && "$TOFU" fmt -check -recursive -diff -no-color terraform/modules) >"$WORK/fmt.out" 2>&1; then
  pass "tofu fmt -check -recursive terraform/modules"
else
  fail "tofu fmt -check -recursive terraform/modules"; show "$WORK/fmt.out"
fi

# ---------------------------------------------------------------- inputs
# A valid terraform.tfvars.json for a module, built from the catalog entry.
ED25519="ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl test@cloudplane"
RID="01jabcdefghjkmnpqrstvwxyz0"
tfvars() { # module
  python3 - "$CATALOG" "$1" "$ED25519" "$RID" <<'PY'
import json, re, sys
cat, mod, key, rid = json.load(open(sys.argv[1])), sys.argv[2], sys.argv[3], sys.argv[4]
kind = next(k for c in cat["clouds"] for k in c["kinds"] if k["module"] == mod)
names = ["web-1", "cloudplane-check-bucket", "cloudplanecheck01"]
name = next((n for n in names if re.search(kind["name_rule"]["pattern"], n)), names[0])
v = {"resource_id": rid, "name": name, "region": kind["regions"][0]["id"]}
if kind["id"] == "vm":
    v.update(size=kind["sizes"][0]["id"], ssh_public_key=key, allowed_cidrs=["203.0.113.0/24"])
if mod.startswith("gcp_"):
    v["project_id"] = "cloudplane-check"
print(json.dumps(v))
PY
}

# Plans the module in $1 with terraform.tfvars.json plus one override (-var $3)
# and expects it to be rejected with a message containing $4.
expect_rejected() { # dir label var=value message
  local dir=$1 label=$2 kv=$3 msg=$4
  if tf "$dir" plan -input=false -lock=false -var "$kv" >"$WORK/out" 2>&1; then
    fail "$label: plan accepted $kv"
  elif flat "$WORK/out" | grep -qF "$msg"; then
    pass "$label: rejects $kv"
  else
    fail "$label: $kv rejected without \"$msg\""; show "$WORK/out"
  fi
}

# Input checks shared by every module (VM ones only for VMs).
check_inputs() { # dir label kind
  local dir=$1 label=$2 kind=$3
  expect_rejected "$dir" "$label" "name=Bad_Name" "name must be"
  expect_rejected "$dir" "$label" "region=mars-central-1" "region must be one of"
  expect_rejected "$dir" "$label" "resource_id=01JABC" "resource_id must be"
  if [ "$kind" = vm ]; then
    expect_rejected "$dir" "$label" "size=huge.4xl" "size must be one of"
    expect_rejected "$dir" "$label" "ssh_public_key=ssh-dss AAAAB3NzaC1kc3MAAACBAP8= me@host" "ssh_public_key must be"
    expect_rejected "$dir" "$label" 'allowed_cidrs=["10.0.0.0/33"]' "allowed_cidrs must hold"
    expect_rejected "$dir" "$label" 'allowed_cidrs=["2001:db8::/32"]' "allowed_cidrs must hold"
    expect_rejected "$dir" "$label" 'allowed_cidrs=["203.0.113.7/24"]' "must be a network address"
  fi
}

kind_of() { case $1 in *_vm) echo vm ;; *) echo storage ;; esac; }

# ---------------------------------------------------------------- cloud modules
echo "== cloud modules"
for mod in $CLOUD_MODULES; do
  dir="$WORK/$mod"
  cp -r "$MODULES/$mod" "$dir"
  provider=$(sed -n 's/.*source *= *"hashicorp\/\([a-z]*\)".*/\1/p' "$dir/versions.tf" | head -n 1)
  if tf "$dir" init -backend=false -input=false >"$WORK/init.out" 2>&1; then
    if tf "$dir" validate >"$WORK/out" 2>&1; then
      pass "$mod: tofu validate"
    else
      fail "$mod: tofu validate"; show "$WORK/out"
    fi
  elif grep -qE "Failed to (resolve|query available) provider packages|Failed to install provider" "$WORK/init.out"; then
    skip "$mod validate — provider hashicorp/$provider not installable here (no registry access)"
  else
    fail "$mod: tofu init"; show "$WORK/init.out"
  fi

  # Input validation needs no provider: plan the variables alone.
  vdir="$WORK/$mod-inputs"
  mkdir -p "$vdir"
  cp "$MODULES/$mod/variables.tf" "$vdir/"
  tfvars "$mod" >"$vdir/terraform.tfvars.json"
  if tf "$vdir" init -backend=false -input=false >"$WORK/out" 2>&1 &&
    tf "$vdir" plan -input=false -lock=false >"$WORK/out" 2>&1; then
    pass "$mod: valid inputs accepted by variables.tf"
    check_inputs "$vdir" "$mod" "$(kind_of "$mod")"
  else
    fail "$mod: valid inputs accepted by variables.tf"; show "$WORK/out"
  fi
done
# Azure takes no ECDSA keys.
expect_rejected "$WORK/azure_vm-inputs" "azure_vm" \
  "ssh_public_key=ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTYAAAAIbmlzdHAyNTYAAABBBA== me@host" "ssh_public_key must be"

# ---------------------------------------------------------------- sandbox modules
echo "== sandbox modules"

# Expected outputs: what the sandbox cloud itself says about the object (GET
# /sandbox/v1/instances|buckets/<id>), independently of the module.
expected_outputs() { # module output-json-file
  python3 - "$1" "$2" <<'PY'
import json, os, sys, urllib.request
mod, o = sys.argv[1], {k: v["value"] for k, v in json.load(open(sys.argv[2])).items()}
kind = "instances" if mod == "sandbox_vm" else "buckets"
req = urllib.request.Request("%s/sandbox/v1/%s/%s" % (os.environ["SANDBOX_ENDPOINT"], kind, o["id"][len("sbx-"):]),
                             headers={"Authorization": "Bearer " + os.environ["SANDBOX_API_KEY"]})
api = json.load(urllib.request.urlopen(req, timeout=10))
if mod == "sandbox_vm":
    out = {"id": "sbx-" + api["id"], "public_ip": api["public_ip"], "private_ip": api["private_ip"]}
else:
    out = {"id": "sbx-" + api["id"], "name": api["name"], "url": api["url"]}
print(json.dumps(out, sort_keys=True))
PY
}

# Output shape: the right keys, and (VM) IPs in their ranges.
outputs_ok() { # module output-json-file
  python3 - "$1" "$2" <<'PY'
import ipaddress, json, re, sys
mod, o = sys.argv[1], {k: v["value"] for k, v in json.load(open(sys.argv[2])).items()}
if mod == "sandbox_vm":
    assert set(o) == {"id", "public_ip", "private_ip"}, o
    assert re.fullmatch(r"sbx-i-[0-9a-f]{16}", o["id"]), o
    pub = ipaddress.ip_address(o["public_ip"])
    assert pub in ipaddress.ip_network("203.0.113.0/24") and 1 <= int(pub) & 255 <= 254, o
    assert ipaddress.ip_address(o["private_ip"]) in ipaddress.ip_network("10.0.0.0/8"), o
else:
    assert set(o) == {"id", "name", "url"}, o
    assert re.fullmatch(r"sbx-b-[0-9a-f]{16}", o["id"]) and o["url"] == "sandbox://" + o["name"], o
print(json.dumps(o, sort_keys=True))
PY
}

# Actions per resource address from `show -json plan.bin`, e.g. terraform_data.instance=update
plan_actions() { # show-json-file
  python3 -c 'import json,sys
for r in json.load(open(sys.argv[1])).get("resource_changes", []):
    print(r["address"] + "=" + "+".join(r["change"]["actions"]))' "$1"
}

for mod in $SANDBOX_MODULES; do
  dir="$WORK/$mod"
  cp -r "$MODULES/$mod" "$dir"
  kind=$(kind_of "$mod")
  if [ "$kind" = vm ]; then main=sandbox_instance.this; update_var="size=sandbox.large"; else main=sandbox_bucket.this; update_var='tags={"team":"qa"}'; fi

  if tf "$dir" init -backend=false -input=false >"$WORK/out" 2>&1 && tf "$dir" validate >>"$WORK/out" 2>&1; then
    pass "$mod: init -backend=false and validate"
  else
    fail "$mod: init -backend=false and validate"; show "$WORK/out"
  fi

  # End to end with local state.
  rm -rf "$dir/.tfdata"
  tfvars "$mod" >"$dir/terraform.tfvars.json"
  if ! tf "$dir" init -input=false >"$WORK/out" 2>&1; then
    fail "$mod: init with local state"; show "$WORK/out"; continue
  fi
  if tf "$dir" apply -auto-approve -input=false >"$WORK/out" 2>&1; then
    pass "$mod: apply"
  else
    fail "$mod: apply"; show "$WORK/out"; continue
  fi

  if tf "$dir" output -json >"$WORK/outputs.json" 2>"$WORK/out" &&
    got=$(outputs_ok "$mod" "$WORK/outputs.json" 2>"$WORK/out"); then
    pass "$mod: outputs have the shared shape"
    want=$(expected_outputs "$mod" "$WORK/outputs.json" 2>&1)
    if [ "$got" = "$want" ]; then
      pass "$mod: outputs are the sandbox cloud's values for the object"
    else
      fail "$mod: outputs are the sandbox cloud's values (got $got, want $want)"
    fi
  else
    fail "$mod: outputs have the shared shape"; show "$WORK/out"
  fi

  tf "$dir" plan -input=false -detailed-exitcode >"$WORK/out" 2>&1
  rc=$?
  if [ $rc -eq 0 ]; then pass "$mod: second plan has no changes"; else fail "$mod: second plan has no changes (exit $rc)"; show "$WORK/out"; fi

  # An update is in place, never a replacement.
  if tf "$dir" plan -input=false -var "$update_var" -out=update.bin >"$WORK/out" 2>&1 &&
    tf "$dir" show -json update.bin >"$WORK/show.json" 2>"$WORK/out"; then
    actions=$(plan_actions "$WORK/show.json" | grep -v '=no-op$' | tr '\n' ' ')
    if [ "$actions" = "$main=update " ]; then
      pass "$mod: $update_var plans as an in-place update"
    else
      fail "$mod: $update_var plans as an in-place update (got: $actions)"
    fi
  else
    fail "$mod: plan $update_var"; show "$WORK/out"
  fi

  # Test inputs: a slow update succeeds; a failing one fails with the message.
  if tf "$dir" apply -auto-approve -input=false -var "$update_var" -var simulate_seconds=1 >"$WORK/out" 2>&1; then
    pass "$mod: apply with simulate_seconds=1"
  else
    fail "$mod: apply with simulate_seconds=1"; show "$WORK/out"
  fi
  if tf "$dir" apply -auto-approve -input=false -var simulate_failure=true >"$WORK/out" 2>&1; then
    fail "$mod: apply with simulate_failure=true fails"
  elif flat "$WORK/out" | grep -qF "simulated failure (simulate_failure = true)"; then
    pass "$mod: apply with simulate_failure=true fails with its message"
  else
    fail "$mod: simulate_failure message"; show "$WORK/out"
  fi

  # Working hours: a stop is an in-place update the sandbox cloud records, and a start undoes it.
  if [ "$mod" = sandbox_vm ]; then
    if tf "$dir" plan -input=false -var power_state=stopped -out=stop.bin >"$WORK/out" 2>&1 &&
      tf "$dir" show -json stop.bin >"$WORK/show.json" 2>"$WORK/out" &&
      [ "$(plan_actions "$WORK/show.json" | grep -v '=no-op$' | tr '\n' ' ')" = "$main=update " ] &&
      tf "$dir" apply -auto-approve -input=false stop.bin >"$WORK/out" 2>&1 &&
      tf "$dir" plan -input=false -detailed-exitcode -var power_state=stopped >"$WORK/out" 2>&1 &&
      tf "$dir" apply -auto-approve -input=false -var power_state=running >"$WORK/out" 2>&1; then
      pass "$mod: power_state=stopped is an in-place update, then running again"
    else
      fail "$mod: power_state=stopped is an in-place update, then running again"; show "$WORK/out"
    fi
    expect_rejected "$dir" "$mod" "power_state=paused" "power_state must be running or stopped"
  fi

  if tf "$dir" destroy -auto-approve -input=false >"$WORK/out" 2>&1 &&
    tf "$dir" state list >"$WORK/state" 2>>"$WORK/out" && [ ! -s "$WORK/state" ]; then
    pass "$mod: destroy leaves an empty state"
  else
    fail "$mod: destroy leaves an empty state"; show "$WORK/out"; show "$WORK/state"
  fi

  check_inputs "$dir" "$mod" "$kind"
  expect_rejected "$dir" "$mod" "simulate_seconds=601" "simulate_seconds must be"
done

echo
echo "skipped: $skipped"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
