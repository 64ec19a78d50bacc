resource "cloudplane_project" "team" {
  name                   = "team-a"
  require_approval       = true
  monthly_budget_usd     = 500
  default_ttl_seconds    = 86400  # one day unless the order says otherwise
  max_ttl_seconds        = 604800 # at most a week for members
  expiry_auto_approve    = true
  drift_interval_minutes = 60
}
