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
    condition     = can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.name))
    error_message = "name must be 3-63 characters: lower-case letters, digits and hyphens; starts and ends with a letter or digit; no dots (they break TLS for virtual-hosted bucket URLs); must not start with xn--, sthree- or amzn-s3-demo- nor end with -s3alias, --ol-s3 or --x-s3; globally unique."
  }

  validation {
    condition     = !anytrue([for p in ["xn--", "sthree-", "amzn-s3-demo-"] : startswith(var.name, p)]) && !anytrue([for s in ["-s3alias", "--ol-s3", "--x-s3"] : endswith(var.name, s)])
    error_message = "name must not start with xn--, sthree- or amzn-s3-demo- nor end with -s3alias, --ol-s3 or --x-s3."
  }
}

variable "region" {
  description = "AWS region."
  type        = string

  validation {
    condition     = contains(["us-east-1", "us-east-2", "us-west-2", "eu-west-1", "eu-central-1"], var.region)
    error_message = "region must be one of: us-east-1, us-east-2, us-west-2, eu-west-1, eu-central-1."
  }
}

variable "force_destroy" {
  description = "Allow destroy to delete a bucket that still holds objects (all versions are deleted)."
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

variable "public" {
  description = "Anyone may read the objects: the public access block lets public ACLs and policies in. Off by default (all four flags on)."
  type        = bool
  default     = false
}
