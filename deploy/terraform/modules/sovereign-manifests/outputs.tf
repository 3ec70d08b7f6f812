output "resources" {
  description = "Ids of the Kubernetes objects installed."
  value       = concat(keys(kustomization_resource.p0), keys(kustomization_resource.p1), keys(kustomization_resource.p2))
}
