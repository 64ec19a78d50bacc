variable "resource_id" {
  description = "Platform resource id (26 lower-case letters or digits). Used for tags and unique names."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-z]{26}$", var.resource_id))
    error_message = "resource_id must be 26 lower-case letters or digits."
  }
}

variable "name" {
  description = "Bucket name (globally unique)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9_-]{1,61}[a-z0-9]$", var.name))
    error_message = "name must be 3-63 characters: lower-case letters, digits, hyphens and underscores; starts and ends with a letter or digit; no dots; must not start with goog nor contain google; globally unique."
  }

  validation {
    condition     = !startswith(var.name, "goog") && !strcontains(var.name, "google")
    error_message = "name must not start with goog nor contain google."
  }
}

variable "region" {
  description = "GCP region (the bucket's location)."
  type        = string

  validation {
    condition     = contains(["us-central1", "us-east1", "us-west1", "europe-west1", "europe-west4"], var.region)
    error_message = "region must be one of: us-central1, us-east1, us-west1, europe-west1, europe-west4."
  }
}

variable "force_destroy" {
  description = "Allow destroy to delete a bucket that still holds objects."
  type        = bool
  default     = false
}

variable "project_id" {
  description = "GCP project id."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be 6-30 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "tags" {
  description = "Extra labels. GCP label rules apply: lower-case keys and values. The platform's own labels (managed-by, cloudplane-resource-id) take precedence."
  type        = map(string)
  default     = {}

  validation {
    condition     = length(var.tags) <= 40 && alltrue([for k, v in var.tags : can(regex("^[a-z][a-z0-9_-]{0,62}$", k)) && can(regex("^[a-z0-9_-]{0,63}$", v))])
    error_message = "tags become GCP labels: at most 40; keys 1-63 of a-z 0-9 _ - starting with a letter; values up to 63 of a-z 0-9 _ -."
  }
}

variable "public" {
  description = "Public access prevention is inherited (objects may be made public) instead of enforced. Off by default."
  type        = bool
  default     = false
}
