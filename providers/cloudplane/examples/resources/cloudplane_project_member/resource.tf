resource "cloudplane_project_member" "alice" {
  project_id = cloudplane_project.team.id
  email      = "alice@example.com"
  role       = "admin"
}
