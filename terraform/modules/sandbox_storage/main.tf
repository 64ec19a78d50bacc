locals {
  hash      = sha256(var.resource_id)
  bucket_id = "sbx-b-${substr(local.hash, 0, 17)}"

  tags = merge(var.tags, {
    Name                     = var.name
    "managed-by"             = "cloudplane"
    "cloudplane-resource-id" = var.resource_id
  })

  # What the simulated cloud stores. Tags and force_destroy update in place;
  # a new name or region means a new bucket (see triggers_replace), as on S3.
  spec = {
    id            = local.bucket_id
    name          = var.name
    region        = var.region
    url           = "sandbox://${var.name}"
    force_destroy = var.force_destroy
    tags          = local.tags
  }
}

# Test hook: exists only while simulate_seconds > 0 or simulate_failure is set.
# It is replaced whenever the bucket changes, so its provisioners run on
# create and on every update, before the bucket itself is touched.
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

resource "terraform_data" "bucket" {
  triggers_replace = [var.resource_id, var.region, var.name]
  input            = local.spec

  depends_on = [terraform_data.simulation]
}
