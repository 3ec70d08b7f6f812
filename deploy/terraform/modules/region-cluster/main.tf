locals {
  cluster_name = "sovereign-${var.region_id}"
  region_labels = {
    "sovereign.io/region"           = var.region_id
    "sovereign.io/jurisdiction"     = var.jurisdiction
    "topology.kubernetes.io/region" = var.location
  }
}

# The pin: nothing is created unless the cluster and every zone lie inside the jurisdiction.
resource "terraform_data" "region_pin" {
  input = { region = var.region_id, location = var.location }
  lifecycle {
    precondition {
      condition     = contains(var.allowed_locations, var.location)
      error_message = "region ${var.region_id}: location ${var.location} is not in allowed_locations (${join(", ", var.allowed_locations)}); a sovereign region's cluster stays in its jurisdiction."
    }
    precondition {
      condition     = alltrue([for z in var.failure_domains : startswith(z, var.location)])
      error_message = "region ${var.region_id}: every failure domain must be a zone of ${var.location}."
    }
  }
}

# Cluster API topology: the ClusterClass turns this into the provider's machines and network.
resource "kubernetes_manifest" "cluster" {
  depends_on = [terraform_data.region_pin]
  manifest = {
    apiVersion = "cluster.x-k8s.io/v1beta1"
    kind       = "Cluster"
    metadata = {
      name      = local.cluster_name
      namespace = var.cluster_class_namespace
      labels    = local.region_labels
    }
    spec = {
      clusterNetwork = { pods = { cidrBlocks = [var.pod_cidr] } }
      topology = {
        class   = var.cluster_class
        version = var.kubernetes_version
        controlPlane = {
          replicas = var.control_plane_replicas
          metadata = { labels = local.region_labels }
        }
        workers = {
          machineDeployments = [
            for name, p in var.node_pools : {
              class         = p.class
              name          = name
              failureDomain = length(var.failure_domains) > 0 ? var.failure_domains[index(keys(var.node_pools), name) % length(var.failure_domains)] : null
              metadata = {
                labels = merge(local.region_labels, p.labels)
                annotations = {
                  "cluster.x-k8s.io/cluster-api-autoscaler-node-group-min-size" = tostring(p.min)
                  "cluster.x-k8s.io/cluster-api-autoscaler-node-group-max-size" = tostring(p.max)
                }
              }
            }
          ]
        }
        variables = [
          { name = "region", value = var.region_id },
          { name = "location", value = var.location },
        ]
      }
    }
  }
}
