#!/usr/bin/env python3
"""Checks OpenTofu modules against the providers' schemas in tests/modules/schemas/.

    python3 tests/modules/schema/check_schema.py [--schemas DIR] [MODULE_DIR ...]

Without module directories, the six cloud modules in terraform/modules are
checked. Every problem is printed as `file:line: message`; the run ends with
"N passed, N failed" (one per module) and exits 1 if any module has a problem.

Reported:
  - a resource or data source type the provider does not have;
  - an attribute or nested block the schema does not have (also inside
    `dynamic` blocks' content, and in provider blocks);
  - a required attribute or required nested block left out;
  - a computed-only (read-only) attribute being set;
  - a literal of the wrong type (expressions are not type-checked; see README);
  - an attribute written as a block or a block as an attribute, and a
    single-item block given twice;
  - lifecycle.ignore_changes naming what the resource does not have;
  - a reference `<type>.<name>.<attr>` to an attribute the type does not have;
  - a required_providers entry whose source or version differs from the one
    the schema was extracted for (pins.json).
"""
import argparse
import difflib
import glob
import json
import os
import re
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", "..", ".."))
sys.path.insert(0, HERE)
from hclscan import parse_file  # noqa: E402

CLOUD_MODULES = ["aws_vm", "aws_s3", "azure_vm", "azure_blob", "gcp_vm", "gcp_storage"]
BUILTIN_PROVIDERS = {"terraform"}  # terraform_data, terraform_remote_state

RESOURCE_META_ATTRS = {"count", "for_each", "depends_on", "provider"}
RESOURCE_META_BLOCKS = {"lifecycle", "provisioner", "connection"}
LIFECYCLE_ATTRS = {"create_before_destroy", "prevent_destroy", "ignore_changes", "replace_triggered_by"}
LIFECYCLE_BLOCKS = {"precondition", "postcondition"}
PROVIDER_META_ATTRS = {"alias", "version"}
DYNAMIC_ATTRS = {"for_each", "iterator", "labels"}


def load_schemas(schema_dir):
    schemas = {}
    for path in sorted(glob.glob(os.path.join(schema_dir, "*.json"))):
        schemas[os.path.splitext(os.path.basename(path))[0]] = json.load(open(path))
    return schemas


def load_pins():
    path = os.path.join(HERE, "pins.json")
    return json.load(open(path))["providers"] if os.path.exists(path) else {}


def rel(path):
    p = os.path.abspath(path)
    return os.path.relpath(p, ROOT) if p.startswith(ROOT + os.sep) else path


def hint(name, choices):
    m = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.75)
    return f" (did you mean {m[0]!r}?)" if m else ""


# ------------------------------------------------------------------ literal types

def type_problem(value, typ):
    """A message if the literal `value` (hclscan kind, python value) cannot be `typ`, else None.

    Strings take numbers and bools (OpenTofu converts them losslessly); numbers
    and bools take only their own literals: a quoted "20" or "true" is reported
    even though OpenTofu would convert it, since it is written as the wrong type.
    """
    kind, v = value
    if typ == "any" or kind in ("expr", "null"):
        return None
    m = re.fullmatch(r"(list|set|map)\((.*)\)", typ)
    if m:
        if m.group(1) == "map":
            if kind != "object":
                return f"a {kind} literal where {typ} is expected"
            for k, x in v.items():
                p = type_problem(x, m.group(2))
                if p:
                    return f"key {k!r}: {p}"
            return None
        if kind != "tuple":
            return f"a {kind} literal where {typ} is expected"
        for i, x in enumerate(v):
            p = type_problem(x, m.group(2))
            if p:
                return f"element {i}: {p}"
        return None
    if typ == "string":
        return None if kind in ("string", "number", "bool") else f"a {kind} literal where string is expected"
    if kind != typ:
        shown = f'"{v}"' if kind == "string" else kind
        return f"{shown} is a {kind} literal where {typ} is expected"
    return None


# ------------------------------------------------------------------ the check

class Checker:
    def __init__(self, schemas, pins):
        self.schemas = schemas
        self.pins = pins
        self.problems = []

    def err(self, path, line, msg):
        self.problems.append((rel(path), line, msg))

    def schema_for(self, type_name):
        prefix = type_name.split("_", 1)[0]
        return prefix, self.schemas.get(prefix)

    def check_body(self, path, body, schema, where, meta_attrs=(), meta_blocks=(), block_line=None):
        attrs = schema.get("attributes", {})
        blocks = schema.get("blocks", {})
        computed = set(schema.get("computed", []))
        seen_attrs, seen_blocks = set(), {}
        for a in body.attrs:
            if a.name in meta_attrs:
                continue
            if a.name in attrs:
                seen_attrs.add(a.name)
                p = type_problem(a.value, attrs[a.name]["type"])
                if p:
                    self.err(path, a.line, f"{where}: attribute {a.name!r}: wrong type: {p}")
            elif a.name in blocks:
                self.err(path, a.line, f"{where}: {a.name!r} is a nested block: write `{a.name} {{ ... }}`, not `{a.name} = ...`")
                seen_blocks[a.name] = seen_blocks.get(a.name, 0) + 1
            elif a.name in computed:
                self.err(path, a.line, f"{where}: attribute {a.name!r} is computed-only (read-only) and cannot be set")
            else:
                self.err(path, a.line, f"{where}: unknown attribute {a.name!r}"
                         f"{hint(a.name, set(attrs) | set(blocks))}")
        for b in body.blocks:
            if b.type in meta_blocks:
                if b.type == "lifecycle":
                    self.check_lifecycle(path, b, schema, where)
                continue
            if b.type == "dynamic":
                name = b.labels[0] if b.labels else ""
                if name not in blocks:
                    self.unknown_block(path, b.line, name, schema, where)
                    continue
                seen_blocks[name] = seen_blocks.get(name, 0) + 2  # count unknown: at least "present"
                for a in b.body.attrs:
                    if a.name not in DYNAMIC_ATTRS:
                        self.err(path, a.line, f"{where}: dynamic {name!r}: unknown argument {a.name!r}")
                contents = [c for c in b.body.blocks if c.type == "content"]
                for c in b.body.blocks:
                    if c.type != "content":
                        self.err(path, c.line, f"{where}: dynamic {name!r}: unexpected block {c.type!r}")
                if len(contents) != 1:
                    self.err(path, b.line, f"{where}: dynamic {name!r} needs exactly one content block")
                for c in contents:
                    self.check_body(path, c.body, blocks[name], f"{where}.{name}", block_line=c.line)
                continue
            if b.type in blocks:
                seen_blocks[b.type] = seen_blocks.get(b.type, 0) + 1
                if blocks[b.type].get("max_items") == 1 and seen_blocks[b.type] == 2:
                    self.err(path, b.line, f"{where}: block {b.type!r} may appear only once")
                self.check_body(path, b.body, blocks[b.type], f"{where}.{b.type}", block_line=b.line)
            else:
                self.unknown_block(path, b.line, b.type, schema, where)
        line = block_line
        for name, a in attrs.items():
            if a["required"] and name not in seen_attrs:
                self.err(path, line, f"{where}: missing required attribute {name!r}")
        for name, blk in blocks.items():
            if blk["required"] and name not in seen_blocks:
                self.err(path, line, f"{where}: missing required block {name!r}")

    def unknown_block(self, path, line, name, schema, where):
        attrs, blocks = schema.get("attributes", {}), schema.get("blocks", {})
        if name in attrs:
            self.err(path, line, f"{where}: {name!r} is an attribute: write `{name} = ...`, not a block")
        elif name in schema.get("computed", []):
            self.err(path, line, f"{where}: {name!r} is computed-only (read-only) and cannot be set")
        else:
            self.err(path, line, f"{where}: unknown block {name!r}{hint(name, set(attrs) | set(blocks))}")

    def check_lifecycle(self, path, block, schema, where):
        known = set(schema.get("attributes", {})) | set(schema.get("blocks", {})) | set(schema.get("computed", []))
        for a in block.body.attrs:
            if a.name not in LIFECYCLE_ATTRS:
                self.err(path, a.line, f"{where}: lifecycle: unknown argument {a.name!r}")
            elif a.name == "ignore_changes" and a.value[0] == "tuple":
                for kind, v in a.value[1]:
                    s = v.strip('"') if isinstance(v, str) else ""
                    if s.startswith("${") and s.endswith("}"):
                        s = s[2:-1]
                    root = re.match(r"[A-Za-z_][\w-]*", s)
                    if root and root.group(0) != "all" and root.group(0) not in known:
                        self.err(path, a.line, f"{where}: lifecycle.ignore_changes names unknown attribute "
                                 f"{root.group(0)!r}{hint(root.group(0), known)}")
        for b in block.body.blocks:
            if b.type not in LIFECYCLE_BLOCKS:
                self.err(path, b.line, f"{where}: lifecycle: unknown block {b.type!r}")

    def check_versions(self, path, body):
        for t in body.blocks:
            if t.type != "terraform":
                continue
            for rp in t.body.blocks:
                if rp.type != "required_providers":
                    continue
                for a in rp.body.attrs:
                    pin = self.pins.get(a.name)
                    if pin is None or a.value[0] != "object":
                        continue
                    got = {k: v[1] for k, v in a.value[1].items() if v[0] == "string"}
                    if got.get("source") != pin["source"]:
                        self.err(path, a.line, f"required_providers.{a.name}: source {got.get('source')!r}, "
                                 f"the schema is for {pin['source']!r}")
                    if got.get("version") != pin["constraint"]:
                        self.err(path, a.line, f"required_providers.{a.name}: version {got.get('version')!r}, but the "
                                 f"schema checked is {pin['source']} {pin['provider_version']}: use "
                                 f"{pin['constraint']!r} (tests/modules/schema/pins.json)")

    def check_file(self, path, declared):
        body = parse_file(path)
        self.check_versions(path, body)
        for b in body.blocks:
            if b.type == "provider" and b.labels:
                name = b.labels[0]
                if name in BUILTIN_PROVIDERS:
                    continue
                s = self.schemas.get(name)
                if s is None:
                    self.err(path, b.line, f"provider {name!r}: no schema in tests/modules/schemas")
                    continue
                self.check_body(path, b.body, s["provider_config"], f'provider "{name}"',
                                meta_attrs=PROVIDER_META_ATTRS, block_line=b.line)
            elif b.type in ("resource", "data") and len(b.labels) == 2:
                rtype, rname = b.labels
                prefix, s = self.schema_for(rtype)
                if prefix in BUILTIN_PROVIDERS:
                    continue
                kind = "resource" if b.type == "resource" else "data source"
                where = f'{b.type} "{rtype}" "{rname}"'
                if s is None:
                    self.err(path, b.line, f"{where}: no schema for provider {prefix!r} in tests/modules/schemas")
                    continue
                table = s["resources"] if b.type == "resource" else s["data_sources"]
                every = s["all_resource_types"] if b.type == "resource" else s["all_data_source_types"]
                if rtype not in table:
                    if rtype in every:
                        self.err(path, b.line, f"{where}: {kind} type {rtype!r} exists in {s['provider']} "
                                 f"{s['provider_version']} but is not in the extracted schema: run "
                                 f"tests/modules/schema/extract_schemas.py")
                    else:
                        self.err(path, b.line, f"{where}: unknown {kind} type {rtype!r} in {s['provider']} "
                                 f"{s['provider_version']}{hint(rtype, every)}")
                    continue
                names = {a.name for a in b.body.attrs}
                if "count" in names and "for_each" in names:
                    self.err(path, b.line, f"{where}: count and for_each cannot both be set")
                declared[("data." if b.type == "data" else "") + rtype + "." + rname] = table[rtype]
                self.check_body(path, b.body, table[rtype], where, meta_attrs=RESOURCE_META_ATTRS,
                                meta_blocks=RESOURCE_META_BLOCKS if b.type == "resource" else {"lifecycle"},
                                block_line=b.line)

    REF_RE = re.compile(r"(?<![\w.])((?:data\.)?[a-z][a-z0-9]*_[a-z0-9_]+\.[A-Za-z_][\w-]*)"
                        r"((?:\[[^\]]*\])?(?:\.[a-z_][a-z0-9_]*(?:\[[^\]]*\])?)+)")

    def check_references(self, path, declared):
        """<type>.<name>.<attr>[.<nested>...] references to declared resources name what they have."""
        with open(path) as f:
            for n, line in enumerate(f, 1):
                code = "" if line.lstrip().startswith(("#", "//")) else line
                for m in self.REF_RE.finditer(code):
                    schema = declared.get(m.group(1))
                    if schema is None:
                        continue
                    where = m.group(1)
                    for part in re.findall(r"\.([a-z_][a-z0-9_]*)", m.group(2)):
                        attrs, blocks = schema.get("attributes", {}), schema.get("blocks", {})
                        if part in blocks:
                            schema, where = blocks[part], f"{where}.{part}"
                            continue
                        known = set(attrs) | set(blocks) | set(schema.get("computed", []))
                        if part not in known:
                            self.err(path, n, f"reference {m.group(0)}: {where} has no attribute "
                                     f"{part!r}{hint(part, known)}")
                        break  # an attribute: its value's inside is not in the schema

    def check_module(self, mod_dir):
        before = len(self.problems)
        files = sorted(glob.glob(os.path.join(mod_dir, "*.tf")))
        if not files:
            self.err(mod_dir, 0, "no .tf files")
        declared = {}
        for path in files:
            try:
                self.check_file(path, declared)
            except Exception as e:  # a parse error names the file; keep checking the others
                self.err(path, getattr(e, "line", 0) or 0, f"cannot parse: {type(e).__name__}: {e}".splitlines()[0])
        for path in files:
            self.check_references(path, declared)
        return self.problems[before:]


def main(argv=None):
    ap = argparse.ArgumentParser(description="Check OpenTofu modules against extracted provider schemas.")
    ap.add_argument("--schemas", default=os.path.join(ROOT, "tests", "modules", "schemas"))
    ap.add_argument("modules", nargs="*")
    args = ap.parse_args(argv)
    schemas = load_schemas(args.schemas)
    if not schemas:
        print(f"no schemas in {args.schemas}")
        print("0 passed, 1 failed")
        return 1
    for name, s in sorted(schemas.items()):
        print(f"== schema {name}: {s['provider']} {s['provider_version']} ({s['extracted_from']})")
    mods = args.modules or [os.path.join(ROOT, "terraform", "modules", m) for m in CLOUD_MODULES]
    checker = Checker(schemas, load_pins())
    passed = failed = 0
    for mod in mods:
        probs = checker.check_module(mod)
        label = os.path.basename(os.path.normpath(mod))
        if probs:
            failed += 1
            print(f"FAIL: {label} provider schema")
            for path, line, msg in sorted(probs, key=lambda p: (p[0], p[1] or 0)):
                print(f"    {path}:{line}: {msg}")
        else:
            passed += 1
            print(f"PASS: {label} provider schema")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
