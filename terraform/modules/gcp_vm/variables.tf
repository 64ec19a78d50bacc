variable "resource_id" {
  description = "Platform resource id (26 lower-case letters or digits). Used for tags and unique names."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-z]{26}$", var.resource_id))
    error_message = "resource_id must be 26 lower-case letters or digits."
  }
}

variable "name" {
  description = "Instance name."
  type        = string

  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$", var.name))
    error_message = "name must be 1-63 characters: lower-case letters, digits and hyphens; starts with a letter; ends with a letter or digit."
  }
}

variable "region" {
  description = "GCP region."
  type        = string

  validation {
    condition     = contains(["us-central1", "us-east1", "us-west1", "europe-west1", "europe-west4"], var.region)
    error_message = "region must be one of: us-central1, us-east1, us-west1, europe-west1, europe-west4."
  }
}

variable "size" {
  description = "Machine type."
  type        = string

  validation {
    condition     = contains(["e2-micro", "e2-small", "e2-medium"], var.size)
    error_message = "size must be one of: e2-micro, e2-small, e2-medium."
  }
}

variable "ssh_public_key" {
  description = "OpenSSH public key (ssh-ed25519, ssh-rsa or ecdsa-sha2-nistp256) installed for the login user."
  type        = string

  validation {
    condition     = length(var.ssh_public_key) <= 8192 && can(regex("^(ssh-ed25519 AAAAC3NzaC1lZDI1NTE5|ssh-rsa AAAAB3NzaC1yc2E|ecdsa-sha2-nistp256 AAAAE2VjZHNhLXNoYTItbmlzdHAyNTY)[A-Za-z0-9+/]+={0,3}( [ -~]*)?$", var.ssh_public_key))
    error_message = "ssh_public_key must be a single-line OpenSSH public key of type ssh-ed25519, ssh-rsa or ecdsa-sha2-nistp256."
  }
}

variable "allowed_cidrs" {
  description = "IPv4 CIDR blocks allowed to reach SSH (port 22). Empty means no SSH ingress."
  type        = list(string)
  default     = []

  validation {
    condition     = length(var.allowed_cidrs) <= 20 && alltrue([for c in var.allowed_cidrs : can(regex("^[0-9]{1,3}([.][0-9]{1,3}){3}/[0-9]{1,2}$", c)) && can(cidrhost(c, 0))])
    error_message = "allowed_cidrs must hold at most 20 valid IPv4 CIDR blocks, e.g. 203.0.113.0/24."
  }

  validation {
    condition     = alltrue([for c in var.allowed_cidrs : try(cidrhost(c, 0) == split("/", c)[0], true)])
    error_message = "Each allowed_cidrs entry must be a network address (host bits zero), e.g. 203.0.113.0/24 rather than 203.0.113.7/24."
  }
}

variable "admin_username" {
  description = "Login user created on the VM."
  type        = string
  default     = "cloudplane"

  validation {
    condition     = can(regex("^[a-z_][a-z0-9_-]{0,31}$", var.admin_username)) && !contains(["root"], var.admin_username)
    error_message = "admin_username must be 1-32 lower-case letters, digits, underscores or hyphens, start with a letter or underscore, and not be a reserved name (root)."
  }
}

variable "project_id" {
  description = "GCP project id."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be 6-30 lower-case letters, digits or hyphens, starting with a letter."
  }
}

variable "zone" {
  description = "Zone inside region. Default: the region's first zone that exists (us-central1-a, us-east1-b, us-west1-a, europe-west1-b, europe-west4-a)."
  type        = string
  default     = null

  validation {
    condition     = var.zone == null || can(regex("^[a-z]+-[a-z]+[0-9]+-[a-z]$", var.zone))
    error_message = "zone must look like us-central1-a."
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

variable "power_state" {
  description = "running or stopped. A stopped VM keeps its boot disk (still billed); changed in place."
  type        = string
  default     = "running"

  validation {
    condition     = contains(["running", "stopped"], var.power_state)
    error_message = "power_state must be running or stopped."
  }
}
