locals {
  tags = merge(var.tags, {
    Name                     = var.name
    "managed-by"             = "cloudplane"
    "cloudplane-resource-id" = var.resource_id
  })
}

# Tags update in place; a new name or region replaces the bucket, as on S3.
# force_destroy has nothing to do here: a sandbox bucket holds no objects.
resource "sandbox_bucket" "this" {
  name             = var.name
  region           = var.region
  tags             = local.tags
  public           = var.public
  simulate_seconds = var.simulate_seconds
  simulate_failure = var.simulate_failure
}
