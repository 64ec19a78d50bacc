variable "resource_id" {
  description = "Platform resource id (26 lower-case letters or digits). Used for tags and unique names."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-z]{26}$", var.resource_id))
    error_message = "resource_id must be 26 lower-case letters or digits."
  }
}

variable "name" {
  description = "Bucket name."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.name))
    error_message = "name must be 3-63 characters: lower-case letters, digits and hyphens; starts and ends with a letter or digit; no dots; must not start with xn--, sthree- or amzn-s3-demo- nor end with -s3alias, --ol-s3 or --x-s3 (same rule as S3)."
  }

  validation {
    condition     = !anytrue([for p in ["xn--", "sthree-", "amzn-s3-demo-"] : startswith(var.name, p)]) && !anytrue([for s in ["-s3alias", "--ol-s3", "--x-s3"] : endswith(var.name, s)])
    error_message = "name must not start with xn--, sthree- or amzn-s3-demo- nor end with -s3alias, --ol-s3 or --x-s3."
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

variable "force_destroy" {
  description = "Accepted for parity with aws_s3; a sandbox bucket holds no objects."
  type        = bool
  default     = false
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

variable "public" {
  description = "Anyone may read the objects (sandbox_bucket.public). Off by default."
  type        = bool
  default     = false
}
