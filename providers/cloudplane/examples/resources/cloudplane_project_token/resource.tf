resource "cloudplane_project_token" "ci" {
  project_id      = cloudplane_project.team.id
  name            = "ci"
  scopes          = ["read", "order"]
  role            = "member"
  expires_in_days = 90
}

output "ci_token" {
  value     = cloudplane_project_token.ci.token
  sensitive = true
}
