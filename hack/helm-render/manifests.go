package main

import (
	"fmt"
	"sort"
	"strings"

	"sigs.k8s.io/yaml"
)

type manifest struct {
	source, kind, text string
}

// installOrder is the order of kinds Helm documents for installing a release; `helm template`
// prints in it too. Kinds not listed come after these, alphabetically.
var installOrder = []string{
	"PriorityClass", "Namespace", "NetworkPolicy", "ResourceQuota", "LimitRange", "PodSecurityPolicy",
	"PodDisruptionBudget", "ServiceAccount", "Secret", "SecretList", "ConfigMap", "StorageClass",
	"PersistentVolume", "PersistentVolumeClaim", "CustomResourceDefinition", "ClusterRole",
	"ClusterRoleList", "ClusterRoleBinding", "ClusterRoleBindingList", "Role", "RoleList", "RoleBinding",
	"RoleBindingList", "Service", "DaemonSet", "Pod", "ReplicationController", "ReplicaSet", "Deployment",
	"HorizontalPodAutoscaler", "StatefulSet", "Job", "CronJob", "IngressClass", "Ingress", "APIService",
}

// split cuts a template's output into its YAML documents, dropping the empty ones; a document that
// is not YAML fails the render, naming its template.
func split(source, text string) ([]manifest, error) {
	var docs []manifest
	var cur []string
	flush := func() error {
		doc := strings.Join(cur, "\n")
		cur = nil
		if strings.TrimSpace(doc) == "" {
			return nil
		}
		var head struct {
			Kind string `json:"kind"`
		}
		if err := yaml.Unmarshal([]byte(doc), &head); err != nil {
			return fmt.Errorf("YAML parse error on %s: %v", source, err)
		}
		docs = append(docs, manifest{source: source, kind: head.Kind, text: strings.Trim(doc, "\n")})
		return nil
	}
	for _, line := range strings.Split(text, "\n") {
		if trimmed := strings.TrimRight(line, " \t"); trimmed == "---" || strings.HasPrefix(trimmed, "--- ") {
			if err := flush(); err != nil {
				return nil, err
			}
			continue
		}
		cur = append(cur, line)
	}
	return docs, flush()
}

func printManifests(manifests []manifest) string {
	rank := map[string]int{}
	for i, kind := range installOrder {
		rank[kind] = i
	}
	sort.SliceStable(manifests, func(i, j int) bool {
		a, aKnown := rank[manifests[i].kind]
		b, bKnown := rank[manifests[j].kind]
		switch {
		case aKnown && bKnown:
			return a < b
		case aKnown != bKnown:
			return aKnown
		default:
			return manifests[i].kind < manifests[j].kind
		}
	})
	var out strings.Builder
	for _, m := range manifests {
		fmt.Fprintf(&out, "---\n# Source: %s\n%s\n", m.source, m.text)
	}
	return out.String()
}
