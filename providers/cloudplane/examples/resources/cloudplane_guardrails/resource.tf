resource "cloudplane_guardrails" "team" {
  project_id = cloudplane_project.team.id
  rules = jsonencode({
    allowed_clouds        = { level = "hard", clouds = ["aws", "sandbox"] }
    allowed_regions       = { level = "soft", regions = { aws = ["eu-west-1", "eu-central-1"] } }
    max_vcpu_per_resource = { level = "soft", vcpu = 8 }
    required_tags         = { level = "hard", tags = [{ key = "owner" }, { key = "env", pattern = "^(dev|prod)$" }] }
    no_public_buckets     = { level = "hard" }
  })
}
