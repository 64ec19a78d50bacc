variable "resource_id" {
  description = "Platform resource id (26 lower-case letters or digits). Used for tags and unique names."
  type        = string

  validation {
    condition     = can(regex("^[0-9a-z]{26}$", var.resource_id))
    error_message = "resource_id must be 26 lower-case letters or digits."
  }
}

variable "name" {
  description = "Storage account name (globally unique)."
  type        = string

  validation {
    condition     = can(regex("^[a-z0-9]{3,24}$", var.name))
    error_message = "name must be 3-24 characters: lower-case letters and digits only; globally unique (the account becomes <name>.blob.core.windows.net)."
  }
}

variable "region" {
  description = "Azure region."
  type        = string

  validation {
    condition     = contains(["eastus", "eastus2", "westus", "westus2", "westeurope", "northeurope"], var.region)
    error_message = "region must be one of: eastus, eastus2, westus, westus2, westeurope, northeurope."
  }
}

variable "tags" {
  description = "Extra tags. The platform's own tags (managed-by, cloudplane-resource-id) take precedence."
  type        = map(string)
  default     = {}

  validation {
    condition     = length(var.tags) <= 40 && alltrue([for k, v in var.tags : length(k) >= 1 && length(k) <= 512 && length(v) <= 256 && !can(regex("[<>%&?/]", k))])
    error_message = "tags: at most 40 entries; keys 1-512 characters without < > % & ? /; values up to 256 characters."
  }
}

variable "public" {
  description = "Containers may be made public (allow_nested_items_to_be_public). Off by default."
  type        = bool
  default     = false
}
