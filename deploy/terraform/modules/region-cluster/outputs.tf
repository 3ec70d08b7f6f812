output "cluster_name" {
  description = "Name of the region's Cluster object (and of its kubeconfig Secret, <name>-kubeconfig, in the management cluster)."
  value       = local.cluster_name
}

output "kubeconfig_secret" {
  description = "Namespace/name of the Secret Cluster API writes the region cluster's kubeconfig to."
  value       = "${var.cluster_class_namespace}/${local.cluster_name}-kubeconfig"
}

output "region_labels" {
  description = "Labels every node of the region carries."
  value       = local.region_labels
}
