#!/usr/bin/env python3
"""Regenerates tests/modules/schemas/{aws,azurerm,google}.json from prebuilt
provider bindings on PyPI.

    python3 tests/modules/schema/extract_schemas.py [--wheels DIR] [--keep]

The wheels and their versions are pinned in pins.json beside this file. Each
wheel holds a jsii assembly (_jsii/*.jsii.tgz) generated from the provider's own
schema: `.jsii` lists every resource's config properties (required or optional,
typed) and the generated JavaScript maps each camelCase property to its
Terraform name (synthesizeHclAttributes / <struct>ToHclTerraform) and lists the
attributes that can only be read (getters without a setter).

Only the resource and data-source types used by the six cloud modules (plus the
provider block) are written out in full; the names of all other types are kept
so that the check can tell a misspelled type from one that simply was not
extracted. Nothing here is needed in CI: the JSON is committed.

Without --wheels, the pinned wheels are downloaded with `pip download` into a
temporary directory under /tmp (they are 45-70 MB each) and removed afterwards.
"""
import argparse
import glob
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
OUT_DIR = os.path.join(ROOT, "tests", "modules", "schemas")
CLOUD_MODULES = ["aws_vm", "aws_s3", "azure_vm", "azure_blob", "gcp_vm", "gcp_storage"]

sys.path.insert(0, HERE)
from hclscan import parse_file  # noqa: E402


def used_types():
    """{provider: {"resource": set, "data": set}} from the cloud modules' .tf files."""
    used = {}
    for mod in CLOUD_MODULES:
        for path in sorted(glob.glob(os.path.join(ROOT, "terraform", "modules", mod, "*.tf"))):
            for blk in parse_file(path).blocks:
                if blk.type in ("resource", "data") and len(blk.labels) >= 1:
                    t = blk.labels[0]
                    used.setdefault(t.split("_", 1)[0], {"resource": set(), "data": set()})[blk.type].add(t)
    return used


# ------------------------------------------------------------------ wheel reading

def read_assembly(wheel_path):
    """(jsii dict, {member name: bytes}) reader; JS files are read on demand in one pass."""
    z = zipfile.ZipFile(wheel_path)
    tgz = [n for n in z.namelist() if n.endswith(".jsii.tgz")]
    if len(tgz) != 1:
        raise SystemExit(f"{wheel_path}: expected one _jsii/*.jsii.tgz, found {tgz}")
    blob = z.read(tgz[0])
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        for m in tar:
            if m.name == "package/.jsii":
                jsii = json.load(tar.extractfile(m))
                break
        else:
            raise SystemExit(f"{wheel_path}: no package/.jsii")
    return jsii, blob


def read_js(blob, names):
    out = {}
    with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
        for m in tar:
            if m.name in names:
                out[m.name] = tar.extractfile(m).read().decode()
                if len(out) == len(names):
                    break
    missing = set(names) - set(out)
    if missing:
        raise SystemExit(f"JS files not in the assembly: {sorted(missing)}")
    return out


# ------------------------------------------------------------------ JS parsing

ATTR_RE = re.compile(
    r'^\s+(\w+): \{\s*\n\s+value: (.*?),\s*\n\s+isBlock: (true|false),\s*\n'
    r'\s+type: "(\w+)",\s*\n\s+storageClassType: "(\w+)",\s*\n\s+\},?$', re.M)
CAMEL_RE = re.compile(r'(?:this\._|struct\.|struct!\.)(\w+)')
READ_RE = re.compile(r"get\w*Attribute\('(\w+)'\)|new \w+\(this, \"(\w+)\"")


def class_body(js, name):
    m = re.search(r'^class %s extends [\w.]+ \{$' % re.escape(name), js, re.M)
    if not m:
        return None
    end = js.find("\nexports.%s = %s;" % (name, name), m.end())
    return js[m.end():end if end >= 0 else len(js)]


def function_body(js, name):
    m = re.search(r'^function %s\(struct\) \{$' % re.escape(name), js, re.M)
    if not m:
        return None
    end = js.find("\n}\n", m.end())
    return js[m.end():end]


def hcl_attrs(text):
    """[(tf_name, camel, is_block, type, storage_class_type, value)] from an attrs = {...} literal."""
    out = []
    for m in ATTR_RE.finditer(text):
        cm = CAMEL_RE.search(m.group(2))
        if not cm:
            raise SystemExit(f"no property name in {m.group(0)!r}")
        out.append((m.group(1), cm.group(1), m.group(3) == "true", m.group(4), m.group(5), m.group(2)))
    return out


def read_names(text):
    names = set()
    for a, b in READ_RE.findall(text or ""):
        names.add(a or b)
    return names


PRIM = {"string": "string", "number": "number", "boolean": "bool"}


def tf_type(kind, sct):
    """Terraform type of a non-block attribute from cdktf's (type, storageClassType)."""
    m = re.fullmatch(r"(string|number|boolean)(List|Map)?", sct)
    if not m:
        return "any"  # nested attribute objects and other shapes: not literal-checked
    prim = PRIM[m.group(1)]
    if m.group(2) is None:
        return prim
    if m.group(2) == "Map":
        return f"map({prim})"
    return f"{'set' if kind == 'set' else 'list'}({prim})"


# ------------------------------------------------------------------ jsii helpers

def props(jsii, fqn):
    """{camelName: property} of an interface, including inherited interfaces of this assembly."""
    t = jsii["types"].get(fqn)
    if t is None:
        return {}
    out = {}
    for parent in t.get("interfaces", []) or []:
        if parent in jsii["types"]:
            out.update(props(jsii, parent))
    for p in t.get("properties", []):
        out[p["name"]] = p
    return out


FLAGS_RE = re.compile(r"^    // (\w+) - computed: (true|false), optional: (true|false), required: (true|false)$", re.M)
STRUCT_FN_RE = re.compile(r"(?<![\w.])(\w+)ToHclTerraform\b")


def flags(reader_text):
    """{tf_name: (computed, optional, required)} from the generator's comment above each getter."""
    return {m.group(1): tuple(x == "true" for x in m.group(2, 3, 4)) for m in FLAGS_RE.finditer(reader_text or "")}


def block_schema(jsii, js, iface_fqn, attrs_text, reader_text, where):
    """Schema of one block: settable attributes, computed-only names, nested blocks.

    attrs_text is the block's `attrs = {...}` (its settable attributes and blocks,
    with cdktf's type and storage class); reader_text is the class that reads it
    back, whose comments say computed/optional/required for every attribute."""
    fl = flags(reader_text)
    jp = props(jsii, iface_fqn)
    attributes, blocks = {}, {}
    for name, camel, is_block, kind, sct, value in hcl_attrs(attrs_text):
        if name in fl:
            computed, optional, required = fl[name]
        elif camel in jp:  # provider blocks have no reader class, so no comments
            required = not jp[camel].get("optional", False)
        else:
            raise SystemExit(f"{where}.{name}: neither a computed/optional/required comment nor a jsii property")
        # Cross-check with the jsii interface where the property kept its name.
        if camel in jp and (not jp[camel].get("optional", False)) != required:
            raise SystemExit(f"{where}.{name}: jsii and the generated code disagree on required")
        if is_block:
            m = STRUCT_FN_RE.search(value)
            if not m:
                raise SystemExit(f"{where}.{name}: no struct function in {value!r}")
            sname = m.group(1)[0].upper() + m.group(1)[1:]
            fn = function_body(js, m.group(1) + "ToHclTerraform")
            if fn is None:
                raise SystemExit(f"{where}.{name}: no {m.group(1)}ToHclTerraform")
            single = "listMapperHcl(" not in value
            fqn = iface_fqn.rsplit(".", 1)[0] + "." + sname
            sub = block_schema(jsii, js, fqn, fn, class_body(js, sname + "OutputReference"), f"{where}.{name}")
            sub.update(nesting="set" if kind == "set" else "list", required=required)
            if single:
                sub["max_items"] = 1
            blocks[name] = sub
        else:
            attributes[name] = {"type": tf_type(kind, sct), "required": required}
    settable = set(attributes) | set(blocks)
    computed_only = {n for n, (c, o, r) in fl.items() if c and not o and not r}
    bad = computed_only & settable
    if bad:
        raise SystemExit(f"{where}: {sorted(bad)} are both settable and computed-only")
    computed_only |= read_names(reader_text) - settable - set(fl)
    out = {"attributes": dict(sorted(attributes.items())), "computed": sorted(computed_only)}
    if blocks:
        out["blocks"] = dict(sorted(blocks.items()))
    return out


def type_index(jsii):
    """{("resource"|"data"|"provider", tf_name): class fqn} from the classes' doc links."""
    kinds = {"cdktn.TerraformResource": "resource", "cdktn.TerraformDataSource": "data",
             "cdktf.TerraformResource": "resource", "cdktf.TerraformDataSource": "data",
             "cdktn.TerraformProvider": "provider", "cdktf.TerraformProvider": "provider"}
    idx, version = {}, None
    for fqn, t in jsii["types"].items():
        kind = kinds.get(t.get("base"))
        if t["kind"] != "class" or not kind:
            continue
        m = re.search(r"\{@link https://registry\.terraform\.io/providers/[\w-]+/[\w-]+/([\w.\-]+)/docs\S* (\w+)\}",
                      t.get("docs", {}).get("summary", ""))
        if not m:
            raise SystemExit(f"{fqn}: cannot read the type name from {t.get('docs')}")
        idx[(kind, m.group(2))] = fqn
        version = version or m.group(1)
    return idx, version


def extract(provider, pin, wheel, used):
    jsii, blob = read_assembly(wheel)
    idx, version = type_index(jsii)
    if version != pin["provider_version"]:
        raise SystemExit(f"{wheel}: assembly is {provider} {version}, pins.json says {pin['provider_version']}")
    wanted = [("provider", provider)] + [("resource", t) for t in sorted(used["resource"])] + \
        [("data", t) for t in sorted(used["data"])]
    missing = [w for w in wanted if w not in idx]
    if missing:
        raise SystemExit(f"{provider} {version} has no {missing}")
    files = {}
    for w in wanted:
        loc = jsii["types"][idx[w]]["locationInModule"]["filename"]  # src/<dir>/index.ts
        files[w] = "package/lib/" + loc[len("src/"):-len(".ts")] + ".js"
    js_by_file = read_js(blob, set(files.values()))

    def one(w):
        fqn = idx[w]
        js = js_by_file[files[w]]
        cls = fqn.rsplit(".", 1)[1]
        body = class_body(js, cls)
        m = re.search(r"synthesizeHclAttributes\(\) \{\n(.*?)\n        return ", body, re.S)
        if not m:
            raise SystemExit(f"{cls}: no synthesizeHclAttributes")
        return block_schema(jsii, js, fqn + "Config", m.group(1), body, w[1])

    out = {
        "provider": pin["source"],
        "provider_version": version,
        "extracted_from": f"{pin['package']}=={pin['version']} (jsii assembly {jsii['name']}@{jsii['version']})",
        "generated_by": "tests/modules/schema/extract_schemas.py; do not edit by hand",
        "provider_config": one(("provider", provider)),
        "resources": {t: one(("resource", t)) for t in sorted(used["resource"])},
        "data_sources": {t: one(("data", t)) for t in sorted(used["data"])},
        "all_resource_types": sorted(n for k, n in idx if k == "resource"),
        "all_data_source_types": sorted(n for k, n in idx if k == "data"),
    }
    return out


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def to_json(v, indent=0):
    """Indented JSON with leaf objects (attribute entries) and short lists on one line,
    and long lists (all type names) one item a line, so that diffs stay readable."""
    pad, inner = " " * indent, " " * (indent + 2)
    if isinstance(v, dict) and v and any(isinstance(x, (dict, list)) for x in v.values()):
        items = [f"{inner}{json.dumps(k)}: {to_json(x, indent + 2)}" for k, x in v.items()]
        return "{\n" + ",\n".join(items) + "\n" + pad + "}"
    if isinstance(v, list) and len(json.dumps(v)) > 100:
        return "[\n" + ",\n".join(inner + json.dumps(x, sort_keys=True) for x in v) + "\n" + pad + "]"
    return json.dumps(v, sort_keys=True)


def write_json(path, data):
    with open(path, "w") as f:
        f.write(to_json(data) + "\n")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--wheels", help="directory holding (or receiving) the pinned wheels")
    ap.add_argument("--keep", action="store_true", help="keep the downloaded wheels")
    ap.add_argument("--only", action="append", help="provider name(s) to regenerate (default: all)")
    args = ap.parse_args()

    pins = json.load(open(os.path.join(HERE, "pins.json")))["providers"]
    used = used_types()
    unknown = set(used) - set(pins)
    if unknown:
        raise SystemExit(f"modules use providers with no pin: {sorted(unknown)}")
    wheels = args.wheels or tempfile.mkdtemp(prefix="cloudplane-wheels.", dir="/tmp")
    os.makedirs(wheels, exist_ok=True)
    try:
        for provider, pin in sorted(pins.items()):
            if args.only and provider not in args.only:
                continue
            norm = pin["package"].replace("-", "_")
            path = os.path.join(wheels, f"{norm}-{pin['version']}-py3-none-any.whl")
            if not os.path.exists(path):
                subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "-d", wheels,
                                f"{pin['package']}=={pin['version']}"], check=True)
            got = sha256(path)
            if got != pin["sha256"]:
                raise SystemExit(f"{path}: sha256 {got}, pins.json says {pin['sha256']}")
            data = extract(provider, pin, path, used.get(provider, {"resource": set(), "data": set()}))
            out = os.path.join(OUT_DIR, provider + ".json")
            write_json(out, data)
            print(f"{os.path.relpath(out, ROOT)}: {pin['source']} {data['provider_version']}, "
                  f"{len(data['resources'])} resource and {len(data['data_sources'])} data source types")
    finally:
        if not args.wheels and not args.keep:
            shutil.rmtree(wheels, ignore_errors=True)


if __name__ == "__main__":
    main()
