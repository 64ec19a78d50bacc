resource "cloudplane_webhook" "chat" {
  project_id = cloudplane_project.team.id
  url        = "https://hooks.example.com/cloudplane"
  events     = ["run.needs_approval", "run.failed", "guardrail.blocked"]
  secret_env = "CLOUDPLANE_WEBHOOK_SECRET" # or the write-only `secret` with OpenTofu 1.11+
}
