locals {
  # Every field is derived from resource_id, so a resource always gets the same values.
  hash = sha256(var.resource_id)

  instance_id = "sbx-i-${substr(local.hash, 0, 17)}"
  # 203.0.113.0/24 is a documentation range (RFC 5737): never a real host.
  public_ip = format("203.0.113.%d", parseint(substr(local.hash, 17, 2), 16) % 254 + 1)
  private_ip = format("10.%d.%d.%d",
    parseint(substr(local.hash, 19, 2), 16),
    parseint(substr(local.hash, 21, 2), 16),
    parseint(substr(local.hash, 23, 2), 16) % 254 + 1,
  )

  specs = {
    "sandbox.small"  = { vcpu = 1, memory_gib = 1 }
    "sandbox.medium" = { vcpu = 2, memory_gib = 4 }
    "sandbox.large"  = { vcpu = 4, memory_gib = 8 }
  }

  tags = merge(var.tags, {
    Name                     = var.name
    "managed-by"             = "cloudplane"
    "cloudplane-resource-id" = var.resource_id
  })

  # What the simulated cloud stores. Changing any of it is an in-place update;
  # only resource_id and region force a replacement (see triggers_replace).
  spec = {
    id             = local.instance_id
    name           = var.name
    region         = var.region
    size           = var.size
    vcpu           = local.specs[var.size].vcpu
    memory_gib     = local.specs[var.size].memory_gib
    public_ip      = local.public_ip
    private_ip     = local.private_ip
    ssh_public_key = var.ssh_public_key
    allowed_cidrs  = var.allowed_cidrs
    tags           = local.tags
  }
}

# Test hook: exists only while simulate_seconds > 0 or simulate_failure is set.
# It is replaced whenever the instance changes, so its provisioners run on
# create and on every update, before the instance itself is touched.
resource "terraform_data" "simulation" {
  count = var.simulate_seconds > 0 || var.simulate_failure ? 1 : 0

  triggers_replace = {
    spec             = local.spec
    simulate_seconds = var.simulate_seconds
    simulate_failure = var.simulate_failure
  }

  # Runs sleep directly (no shell), so an interrupt stops it at once.
  provisioner "local-exec" {
    interpreter = ["/bin/sleep"]
    command     = format("%d", var.simulate_seconds)
  }

  provisioner "local-exec" {
    interpreter = ["/bin/sh", "-c"]
    command     = var.simulate_failure ? "echo 'sandbox: simulated failure (simulate_failure = true)' >&2; exit 1" : "true"
  }
}

resource "terraform_data" "instance" {
  triggers_replace = [var.resource_id, var.region]
  input            = local.spec

  depends_on = [terraform_data.simulation]
}
