# This file is maintained automatically by "tofu init".
# Manual edits may be lost in future updates.

provider "registry.opentofu.org/cloudplane/sandbox" {
  version     = "0.2.0"
  constraints = "0.2.0"
  hashes = [
    "h1:zzv57o2YKaEIc/PvJ6VXZyf99ANUfFO89hMld0teKy0=",
  ]
}
