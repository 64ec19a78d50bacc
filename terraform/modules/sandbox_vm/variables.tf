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
    condition     = can(regex("^[a-z][a-z0-9-]{0,61}[a-z0-9]$", var.name))
    error_message = "name must be 2-63 characters: lower-case letters, digits and hyphens; starts with a letter; ends with a letter or digit."
  }
}

variable "region" {
  description = "Sandbox region."
  type        = string

  validation {
    condition     = contains(["sandbox-east-1", "sandbox-west-1", "sandbox-eu-1"], var.region)
    error_message = "region must be one of: sandbox-east-1, sandbox-west-1, sandbox-eu-1."
  }
}

variable "size" {
  description = "Sandbox instance size."
  type        = string

  validation {
    condition     = contains(["sandbox.small", "sandbox.medium", "sandbox.large"], var.size)
    error_message = "size must be one of: sandbox.small, sandbox.medium, sandbox.large."
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

variable "tags" {
  description = "Extra tags. The platform's own tags (Name, managed-by, cloudplane-resource-id) take precedence."
  type        = map(string)
  default     = {}

  validation {
    condition     = length(var.tags) <= 40 && alltrue([for k, v in var.tags : length(k) >= 1 && length(k) <= 128 && length(v) <= 256 && !startswith(lower(k), "aws:")])
    error_message = "tags: at most 40 entries; keys 1-128 characters, not starting with aws:; values up to 256 characters."
  }
}

variable "simulate_seconds" {
  description = "Sandbox test input: create and update take this many seconds (0-600)."
  type        = number
  default     = 0

  validation {
    condition     = var.simulate_seconds >= 0 && var.simulate_seconds <= 600 && floor(var.simulate_seconds) == var.simulate_seconds
    error_message = "simulate_seconds must be a whole number from 0 to 600."
  }
}

variable "simulate_failure" {
  description = "Sandbox test input: when true, create and update fail with a clear error."
  type        = bool
  default     = false
}

variable "power_state" {
  description = "running or stopped. A stopped instance keeps its disk and addresses; changed in place."
  type        = string
  default     = "running"

  validation {
    condition     = contains(["running", "stopped"], var.power_state)
    error_message = "power_state must be running or stopped."
  }
}
