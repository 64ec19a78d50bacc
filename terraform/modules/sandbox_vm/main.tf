locals {
  tags = merge(var.tags, {
    Name                     = var.name
    "managed-by"             = "cloudplane"
    "cloudplane-resource-id" = var.resource_id
  })
}

# A size, key, CIDR, tag or power_state change is an in-place update; a new name or region
# replaces the instance. simulate_seconds / simulate_failure act inside the
# provider (a failed create leaves the instance tainted, as real providers do).
resource "sandbox_instance" "this" {
  name             = var.name
  region           = var.region
  size             = var.size
  ssh_public_key   = var.ssh_public_key
  allowed_cidrs    = var.allowed_cidrs
  tags             = local.tags
  simulate_seconds = var.simulate_seconds
  simulate_failure = var.simulate_failure
  power_state      = var.power_state
}
