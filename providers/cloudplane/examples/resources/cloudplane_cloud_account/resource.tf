# OpenTofu 1.10: the values come from the environment; only their hash is stored.
resource "cloudplane_cloud_account" "aws" {
  project_id = cloudplane_project.team.id
  name       = "aws-prod"
  cloud      = "aws"
  credentials_env = {
    access_key_id     = "AWS_ACCESS_KEY_ID"
    secret_access_key = "AWS_SECRET_ACCESS_KEY"
  }
}

# OpenTofu/Terraform 1.11+: write-only, never stored.
resource "cloudplane_cloud_account" "sandbox" {
  project_id  = cloudplane_project.team.id
  name        = "sandbox"
  cloud       = "sandbox"
  credentials = { api_key = var.sandbox_api_key }
}
