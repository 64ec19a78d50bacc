# Credentials come from the environment (GOOGLE_CREDENTIALS).
provider "google" {
  project = var.project_id
  region  = var.region
}

locals {
  labels = merge(var.tags, {
    "managed-by"             = "cloudplane"
    "cloudplane-resource-id" = var.resource_id
  })
}

resource "google_storage_bucket" "this" {
  name                        = var.name
  location                    = upper(var.region)
  storage_class               = "STANDARD"
  force_destroy               = var.force_destroy
  uniform_bucket_level_access = true
  public_access_prevention    = var.public ? "inherited" : "enforced"
  labels                      = local.labels

  versioning {
    enabled = true
  }
}
