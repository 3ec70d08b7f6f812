# Example: the EU regions of the shipped topology, each in its own cluster, provisioned from
# one management cluster; then the rendered manifests installed in each. Not applied here.

variable "management_kubeconfig" {
  description = "Kubeconfig of the Cluster API management cluster."
  type        = string
}

variable "rendered" {
  description = "Directory `sovereign deploy render --out` wrote."
  type        = string
}

variable "cluster_class" {
  description = "ClusterClass provisioning clusters on your infrastructure."
  type        = string
}

provider "kubernetes" {
  config_path = var.management_kubeconfig
}

locals {
  regions = {
    eu-frankfurt = { jurisdiction = "EU", location = "europe-west3", zones = ["europe-west3-a", "europe-west3-b"] }
    eu-paris     = { jurisdiction = "EU", location = "europe-west9", zones = ["europe-west9-a", "europe-west9-b"] }
  }
  eu_locations = ["europe-west1", "europe-west3", "europe-west4", "europe-west9", "europe-north1"]
}

module "cluster" {
  source            = "../../modules/region-cluster"
  for_each          = local.regions
  region_id         = each.key
  jurisdiction      = each.value.jurisdiction
  location          = each.value.location
  allowed_locations = local.eu_locations
  failure_domains   = each.value.zones
  cluster_class     = var.cluster_class
}

# The kustomization provider of each region points at that region's cluster (its kubeconfig
# is in the management cluster's Secret module.cluster[...].kubeconfig_secret). Terraform
# providers cannot be created in a loop, so one block per region:
provider "kustomization" {
  alias          = "eu_frankfurt"
  kubeconfig_raw = data.kubernetes_secret_v1.kubeconfig["eu-frankfurt"].data["value"] # the provider decodes Secret data
}

data "kubernetes_secret_v1" "kubeconfig" {
  for_each = local.regions
  metadata {
    namespace = split("/", module.cluster[each.key].kubeconfig_secret)[0]
    name      = split("/", module.cluster[each.key].kubeconfig_secret)[1]
  }
}

module "manifests_eu_frankfurt" {
  source          = "../../modules/sovereign-manifests"
  providers       = { kustomization = kustomization.eu_frankfurt }
  overlay_path    = "${var.rendered}/overlays/region-eu-frankfurt"
  expected_region = "eu-frankfurt"
}
