"""Tests for tests/modules/schema/check_schema.py: planted errors in copies of the
real modules, one case per rule on small modules, and the real modules passing."""
import json
import os
import re
import shutil
import sys
import textwrap

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.abspath(os.path.join(HERE, "..", ".."))
MODULES = os.path.join(ROOT, "terraform", "modules")
SCHEMAS = os.path.join(HERE, "schemas")
sys.path.insert(0, os.path.join(HERE, "schema"))

import check_schema  # noqa: E402
from hclscan import parse_file  # noqa: E402

CLOUD = ["aws_vm", "aws_s3", "azure_vm", "azure_blob", "gcp_vm", "gcp_storage"]
PINS = json.load(open(os.path.join(HERE, "schema", "pins.json")))["providers"]


def run(*mods):
    """(exit code, [(file, line, message)]) of the check on module directories."""
    checker = check_schema.Checker(check_schema.load_schemas(SCHEMAS), PINS)
    probs = []
    for m in mods:
        probs += checker.check_module(str(m))
    return (1 if probs else 0), probs


def line_of(path, pattern, start=1):
    """1-based line of the first line at or after `start` matching the regex."""
    with open(path) as f:
        for n, line in enumerate(f, 1):
            if n >= start and re.search(pattern, line):
                return n
    raise AssertionError(f"{pattern!r} not in {path}")


def has(probs, path, line, *words):
    """True if a problem at path:line mentions every word."""
    return any(os.path.abspath(p) == os.path.abspath(str(path)) and ln == line and all(w in m for w in words)
               for p, ln, m in probs)


def module(tmp_path, provider, body):
    """A module directory with versions.tf pinned like the real ones, and main.tf = body."""
    d = tmp_path / "mod"
    d.mkdir()
    pin = PINS[provider]
    (d / "versions.tf").write_text(textwrap.dedent(f"""\
        terraform {{
          required_providers {{
            {provider} = {{
              source  = "{pin['source']}"
              version = "{pin['constraint']}"
            }}
          }}
        }}
        """))
    (d / "main.tf").write_text(textwrap.dedent(body))
    return d


# ------------------------------------------------------------------ the real modules

def test_real_modules_pass():
    rc, probs = run(*[os.path.join(MODULES, m) for m in CLOUD])
    assert rc == 0 and probs == [], probs


def test_cli_exit_code_and_summary(capsys):
    assert check_schema.main([os.path.join(MODULES, m) for m in CLOUD]) == 0
    assert capsys.readouterr().out.rstrip().endswith("6 passed, 0 failed")


def test_schema_files_match_pins():
    for provider, pin in PINS.items():
        s = json.load(open(os.path.join(SCHEMAS, provider + ".json")))
        assert s["provider"] == pin["source"]
        assert s["provider_version"] == pin["provider_version"]
        assert f"{pin['package']}=={pin['version']}" in s["extracted_from"]


# ------------------------------------------------------------------ planted errors

def test_planted_misspelling_and_missing_required(tmp_path):
    """aws_vm: `vpc_security_group_ids` misspelled and aws_key_pair's required `public_key` removed."""
    mod = tmp_path / "aws_vm"
    shutil.copytree(os.path.join(MODULES, "aws_vm"), mod)
    main = mod / "main.tf"
    text = main.read_text()
    text = text.replace("  vpc_security_group_ids = ", "  vpc_security_group_idz = ", 1)
    text = re.sub(r"\n  public_key = var\.ssh_public_key\n", "\n", text, count=1)
    main.write_text(text)
    typo_line = line_of(main, r"^  vpc_security_group_idz =")
    key_pair_line = line_of(main, r'^resource "aws_key_pair" "this"')

    rc, probs = run(mod)
    assert rc == 1
    assert has(probs, main, typo_line, "unknown attribute", "'vpc_security_group_idz'", "vpc_security_group_ids"), probs
    assert has(probs, main, key_pair_line, "missing required attribute", "'public_key'", "aws_key_pair"), probs
    assert len(probs) == 2, probs


def test_planted_cli_output_names_file_line_attribute(tmp_path, capsys):
    mod = tmp_path / "gcp_storage"
    shutil.copytree(os.path.join(MODULES, "gcp_storage"), mod)
    main = mod / "main.tf"
    main.write_text(main.read_text().replace("storage_class ", "storage_klass ", 1)
                    .replace("  location                    = upper(var.region)\n", "", 1))
    assert check_schema.main([str(mod)]) == 1
    out = capsys.readouterr().out
    typo = line_of(main, r"storage_klass")
    bucket = line_of(main, r'^resource "google_storage_bucket"')
    assert f"{main}:{typo}: " in out and "unknown attribute 'storage_klass'" in out, out
    assert f"{main}:{bucket}: " in out and "missing required attribute 'location'" in out, out
    assert out.rstrip().endswith("0 passed, 1 failed")


def first_required_attr(path, schemas):
    """(block, attribute name, its line) of the first top-level required attribute set in a resource."""
    for b in parse_file(path).blocks:
        if b.type != "resource":
            continue
        s = schemas[b.labels[0].split("_", 1)[0]]["resources"][b.labels[0]]
        for a in b.body.attrs:
            if s["attributes"].get(a.name, {}).get("required"):
                return b, a
    return None, None


@pytest.mark.parametrize("name", CLOUD)
def test_planted_in_every_module(tmp_path, name):
    """In each cloud module: the first required attribute removed, another one of that resource misspelled."""
    mod = tmp_path / name
    shutil.copytree(os.path.join(MODULES, name), mod)
    main = mod / "main.tf"
    schemas = check_schema.load_schemas(SCHEMAS)
    block, req = first_required_attr(main, schemas)
    assert block is not None
    other = next(a for a in block.body.attrs if a is not req and a.name not in ("count", "for_each"))
    lines = main.read_text().split("\n")
    lines[other.line - 1] = lines[other.line - 1].replace(other.name, other.name + "x", 1)
    del lines[req.line - 1]
    main.write_text("\n".join(lines))
    rc, probs = run(mod)
    assert rc == 1
    assert has(probs, main, block.line, "missing required attribute", repr(req.name)), probs
    other_line = other.line - 1 if other.line > req.line else other.line
    assert has(probs, main, other_line, "unknown attribute", repr(other.name + "x")), probs


# ------------------------------------------------------------------ one case per rule

def test_unknown_resource_and_data_source_type(tmp_path):
    d = module(tmp_path, "aws", """\
        resource "aws_instanse" "a" {}
        data "aws_amy" "b" {}
        resource "aws_instance" "c" {}
        """)
    rc, probs = run(d)
    main = d / "main.tf"
    assert has(probs, main, 1, "unknown resource type 'aws_instanse'", "aws_instance")
    assert has(probs, main, 2, "unknown data source type 'aws_amy'", "aws_ami")
    assert len(probs) == 2, probs


def test_type_in_provider_but_not_extracted(tmp_path):
    d = module(tmp_path, "aws", 'resource "aws_sqs_queue" "q" {}\n')
    rc, probs = run(d)
    assert rc == 1 and has(probs, d / "main.tf", 1, "aws_sqs_queue", "extract_schemas.py"), probs


def test_unknown_attribute_and_nested_block(tmp_path):
    d = module(tmp_path, "aws", """\
        resource "aws_instance" "a" {
          instance_typ = "t3.micro"
          root_block_devise {
            volume_size = 20
          }
          metadata_options {
            http_tokenz = "required"
          }
        }
        """)
    rc, probs = run(d)
    main = d / "main.tf"
    assert has(probs, main, 2, "unknown attribute 'instance_typ'", "instance_type")
    assert has(probs, main, 3, "unknown block 'root_block_devise'", "root_block_device")
    assert has(probs, main, 7, "metadata_options", "unknown attribute 'http_tokenz'")
    assert len(probs) == 3, probs


def test_missing_required_in_required_nested_block(tmp_path):
    d = module(tmp_path, "azurerm", """\
        resource "azurerm_linux_virtual_machine" "a" {
          name                  = "vm"
          resource_group_name   = "rg"
          location              = "westeurope"
          size                  = "Standard_B1s"
          admin_username        = "cloudplane"
          network_interface_ids = []

          os_disk {
            storage_account_type = "StandardSSD_LRS"
          }
        }

        resource "azurerm_linux_virtual_machine" "b" {
          name                  = "vm"
          resource_group_name   = "rg"
          location              = "westeurope"
          size                  = "Standard_B1s"
          admin_username        = "cloudplane"
          network_interface_ids = []
        }
        """)
    rc, probs = run(d)
    main = d / "main.tf"
    assert has(probs, main, 9, "os_disk", "missing required attribute 'caching'")
    assert has(probs, main, 14, "missing required block 'os_disk'")
    assert len(probs) == 2, probs


def test_computed_only_attribute_set(tmp_path):
    d = module(tmp_path, "aws", """\
        resource "aws_instance" "a" {
          public_ip = "203.0.113.1"
          root_block_device {
            volume_id = "vol-1"
          }
        }
        """)
    rc, probs = run(d)
    main = d / "main.tf"
    assert has(probs, main, 2, "'public_ip' is computed-only")
    assert has(probs, main, 4, "root_block_device", "'volume_id' is computed-only")
    assert len(probs) == 2, probs


def test_literal_of_wrong_type(tmp_path):
    d = module(tmp_path, "aws", """\
        resource "aws_instance" "a" {
          monitoring             = "yes"
          vpc_security_group_ids = "sg-1"
          tags                   = ["a"]
          instance_type          = ["t3.micro"]
          root_block_device {
            volume_size = "20"
            encrypted   = 1
          }
        }
        """)
    rc, probs = run(d)
    main = d / "main.tf"
    assert has(probs, main, 2, "'monitoring'", "where bool is expected")
    assert has(probs, main, 3, "'vpc_security_group_ids'", "set(string)")
    assert has(probs, main, 4, "'tags'", "map(string)")
    assert has(probs, main, 5, "'instance_type'", "where string is expected")
    assert has(probs, main, 7, "'volume_size'", "where number is expected")
    assert has(probs, main, 8, "'encrypted'", "where bool is expected")
    assert len(probs) == 6, probs


def test_right_literals_and_expressions_pass(tmp_path):
    d = module(tmp_path, "aws", """\
        variable "size" {}
        locals { n = 20 }
        resource "aws_instance" "a" {
          monitoring             = true
          vpc_security_group_ids = ["sg-1", local.n]
          tags                   = { Name = "x", n = 1 }
          instance_type          = var.size
          user_data              = <<-EOT
            #!/bin/sh
          EOT
          root_block_device {
            volume_size = local.n
            encrypted   = "${var.size}"
            iops        = -1
          }
        }
        """)
    rc, probs = run(d)
    assert rc == 0, probs


def test_meta_arguments(tmp_path):
    d = module(tmp_path, "google", """\
        provider "google" {
          alias   = "eu"
          project = "p"
        }
        resource "google_compute_network" "a" {
          count                   = 2
          provider                = google.eu
          name                    = "net-${count.index}"
          auto_create_subnetworks = false
          depends_on              = [google_compute_network.b]
          lifecycle {
            create_before_destroy = true
            ignore_changes        = [description, mtu]
            precondition {
              condition     = true
              error_message = "never"
            }
          }
        }
        resource "google_compute_network" "b" {
          for_each = toset(["x"])
          name     = each.key
          lifecycle {
            ignore_changes = [nme]
          }
        }
        data "google_compute_image" "i" {
          count   = 1
          family  = "ubuntu-2404-lts-amd64"
          project = "ubuntu-os-cloud"
          lifecycle {
            postcondition {
              condition     = self.self_link != ""
              error_message = "no image"
            }
          }
        }
        """)
    rc, probs = run(d)
    assert len(probs) == 1 and has(probs, d / "main.tf", 24, "ignore_changes", "'nme'", "name"), probs


def test_dynamic_blocks(tmp_path):
    d = module(tmp_path, "google", """\
        variable "ifaces" {}
        resource "google_compute_firewall" "a" {
          name    = "fw"
          network = "default"
          dynamic "allow" {
            for_each = [22, 443]
            content {
              protocol = "tcp"
              ports    = [allow.value]
            }
          }
        }
        resource "google_compute_instance" "b" {
          name         = "vm"
          machine_type = "e2-small"
          boot_disk {}
          dynamic "network_interface" {
            for_each = var.ifaces
            iterator = nic
            content {
              subnetwork = nic.value
              networkk   = "x"
            }
          }
          dynamic "no_such_block" {
            for_each = []
            content {}
          }
        }
        """)
    rc, probs = run(d)
    main = d / "main.tf"
    # network_interface (required) is given by the dynamic block; its content is checked.
    assert has(probs, main, 22, "network_interface", "unknown attribute 'networkk'")
    assert has(probs, main, 25, "unknown block 'no_such_block'")
    assert len(probs) == 2, probs


def test_attribute_as_block_block_as_attribute_and_single_block_twice(tmp_path):
    d = module(tmp_path, "aws", """\
        resource "aws_instance" "a" {
          root_block_device = { volume_size = 20 }
          tags {
            Name = "x"
          }
          metadata_options {}
          metadata_options {}
        }
        """)
    rc, probs = run(d)
    main = d / "main.tf"
    assert has(probs, main, 2, "'root_block_device' is a nested block")
    assert has(probs, main, 3, "'tags' is an attribute")
    assert has(probs, main, 7, "'metadata_options' may appear only once")
    assert len(probs) == 3, probs


def test_references_to_unknown_attributes(tmp_path):
    d = module(tmp_path, "google", """\
        resource "google_compute_network" "n" {
          name = "net"
        }
        output "a" {
          value = google_compute_network.n.self_link
        }
        output "b" {
          value = google_compute_network.n.selflink
        }
        output "c" {
          value = "${google_compute_network.n.id}/${google_compute_network.n.gateway_ipv5}"
        }
        """)
    rc, probs = run(d)
    main = d / "main.tf"
    assert has(probs, main, 8, "'selflink'", "self_link")
    assert has(probs, main, 11, "'gateway_ipv5'", "gateway_ipv4")
    assert len(probs) == 2, probs


def test_provider_block_checked(tmp_path):
    d = module(tmp_path, "aws", """\
        provider "aws" {
          regoin = "eu-west-1"
          default_tags {
            tags = { a = "b" }
          }
        }
        """)
    rc, probs = run(d)
    assert len(probs) == 1 and has(probs, d / "main.tf", 2, "unknown attribute 'regoin'", "region"), probs


def test_version_constraint_must_match_pin(tmp_path):
    d = module(tmp_path, "google", "")
    vt = d / "versions.tf"
    vt.write_text(vt.read_text().replace(PINS["google"]["constraint"], "~> 6.0"))
    rc, probs = run(d)
    assert len(probs) == 1 and has(probs, vt, 3, "required_providers.google", "~> 6.0",
                                   PINS["google"]["constraint"]), probs


def test_parse_error_names_the_file(tmp_path):
    d = module(tmp_path, "aws", 'resource "aws_instance" "a" {\n')
    rc, probs = run(d)
    assert rc == 1 and any(p.endswith("main.tf") and "cannot parse" in m for p, _, m in probs), probs
