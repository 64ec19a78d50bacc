# Credentials and the subscription come from the environment:
# ARM_CLIENT_ID, ARM_CLIENT_SECRET, ARM_TENANT_ID, ARM_SUBSCRIPTION_ID.
provider "azurerm" {
  features {}
}

locals {
  container_name = "data"

  tags = merge(var.tags, {
    "managed-by"             = "cloudplane"
    "cloudplane-resource-id" = var.resource_id
  })
}

resource "azurerm_resource_group" "this" {
  name     = "rg-${var.name}-${substr(var.resource_id, 18, 8)}"
  location = var.region
  tags     = local.tags
}

resource "azurerm_storage_account" "this" {
  name                             = var.name
  resource_group_name              = azurerm_resource_group.this.name
  location                         = azurerm_resource_group.this.location
  account_kind                     = "StorageV2"
  account_tier                     = "Standard"
  account_replication_type         = "LRS"
  access_tier                      = "Hot"
  min_tls_version                  = "TLS1_2"
  https_traffic_only_enabled       = true
  allow_nested_items_to_be_public  = var.public
  cross_tenant_replication_enabled = false
  tags                             = local.tags

  blob_properties {
    versioning_enabled = true

    delete_retention_policy {
      days = 7
    }

    container_delete_retention_policy {
      days = 7
    }
  }
}

resource "azurerm_storage_container" "this" {
  name                  = local.container_name
  storage_account_id    = azurerm_storage_account.this.id
  container_access_type = "private"
}
