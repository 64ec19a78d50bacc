# This file is maintained automatically by "tofu init".
# Manual edits may be lost in future updates.

provider "registry.opentofu.org/cloudplane/sandbox" {
  version     = "0.1.0"
  constraints = "0.1.0"
  hashes = [
    "h1:8B4shUhEWmgqKzWI21f/qhHN1ZL5Boyz+YO17/Z4r9g=",
  ]
}
