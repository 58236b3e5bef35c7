package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path"
	"path/filepath"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/semver/v3"
	"github.com/Masterminds/sprig/v3"
	"sigs.k8s.io/yaml"
)

type options struct {
	release, namespace, chartDir, kubeVersion string
	valueFiles, sets, setStrings, apiVersions []string
	showOnly                                  []string
	isUpgrade, notes                          bool
}

// KubeVersion is .Capabilities.KubeVersion.
type KubeVersion struct {
	Version, Major, Minor string
}

// GitVersion is the version as `kubectl version` prints it, v1.32.0.
func (k KubeVersion) GitVersion() string { return k.Version }

func (k KubeVersion) String() string { return k.Version }

// VersionSet is .Capabilities.APIVersions.
type VersionSet []string

// Has reports whether an API version (group/version, or group/version/Kind) is served.
func (v VersionSet) Has(apiVersion string) bool {
	for _, x := range v {
		if x == apiVersion {
			return true
		}
	}
	return false
}

// Capabilities is .Capabilities.
type Capabilities struct {
	KubeVersion KubeVersion
	APIVersions VersionSet
}

// builtinAPIVersions are the API versions every Kubernetes from 1.21 serves; a chart asking for
// another (monitoring.coreos.com/v1) sees it only when --api-versions names it, as `helm template`
// sees only its built-in list unless told.
var builtinAPIVersions = []string{
	"v1", "admissionregistration.k8s.io/v1", "apiextensions.k8s.io/v1", "apiregistration.k8s.io/v1",
	"apps/v1", "authentication.k8s.io/v1", "authorization.k8s.io/v1", "autoscaling/v1", "autoscaling/v2",
	"batch/v1", "certificates.k8s.io/v1", "coordination.k8s.io/v1", "discovery.k8s.io/v1",
	"events.k8s.io/v1", "networking.k8s.io/v1", "node.k8s.io/v1", "policy/v1",
	"rbac.authorization.k8s.io/v1", "scheduling.k8s.io/v1", "storage.k8s.io/v1",
}

const recursionLimit = 1000

// render returns what `helm template` prints for the options: the sorted manifests, or the notes.
func render(o options) (string, error) {
	meta, err := loadMetadata(o.chartDir)
	if err != nil {
		return "", err
	}
	kube, err := semver.NewVersion(o.kubeVersion)
	if err != nil {
		return "", fmt.Errorf("--kube-version %q: %v", o.kubeVersion, err)
	}
	if err := checkKubeVersion(meta, kube); err != nil {
		return "", err
	}
	vals, err := values(o)
	if err != nil {
		return "", err
	}
	if err := validateSchema(o.chartDir, meta.Name, vals); err != nil {
		return "", err
	}

	files, err := templateFiles(o.chartDir)
	if err != nil {
		return "", err
	}
	set, err := parse(o.chartDir, meta.Name, files)
	if err != nil {
		return "", err
	}

	revision := 1
	if o.isUpgrade {
		revision = 2
	}
	top := map[string]interface{}{
		"Values": vals,
		"Chart":  meta,
		"Release": map[string]interface{}{
			"Name":      o.release,
			"Namespace": o.namespace,
			"Service":   "Helm",
			"IsInstall": !o.isUpgrade,
			"IsUpgrade": o.isUpgrade,
			"Revision":  revision,
		},
		"Capabilities": Capabilities{
			KubeVersion: KubeVersion{
				Version: "v" + kube.String(),
				Major:   fmt.Sprint(kube.Major()),
				Minor:   fmt.Sprint(kube.Minor()),
			},
			APIVersions: append(append(VersionSet{}, builtinAPIVersions...), o.apiVersions...),
		},
	}

	basePath := meta.Name + "/templates"
	var manifests []manifest
	for _, file := range files {
		base := path.Base(file)
		name := basePath + "/" + file
		isNotes := file == "NOTES.txt"
		renderable := strings.HasSuffix(base, ".yaml") || strings.HasSuffix(base, ".yml")
		if strings.HasPrefix(base, "_") || (isNotes != o.notes) || (!isNotes && !renderable) {
			continue
		}
		if !o.notes && len(o.showOnly) > 0 && !contains(o.showOnly, file) && !contains(o.showOnly, "templates/"+file) {
			continue
		}
		data := copyMap(top)
		data["Template"] = map[string]interface{}{"Name": name, "BasePath": basePath}
		var out bytes.Buffer
		if err := set.ExecuteTemplate(&out, name, data); err != nil {
			return "", err
		}
		text := strings.ReplaceAll(out.String(), "<no value>", "")
		if o.notes {
			return text, nil
		}
		docs, err := split(name, text)
		if err != nil {
			return "", err
		}
		manifests = append(manifests, docs...)
	}
	if o.notes {
		return "", fmt.Errorf("%s has no templates/NOTES.txt", o.chartDir)
	}
	return printManifests(manifests), nil
}

// templateFiles lists templates/ recursively, as slash-separated paths below it, in lexical order.
func templateFiles(chartDir string) ([]string, error) {
	root := filepath.Join(chartDir, "templates")
	var files []string
	err := filepath.Walk(root, func(p string, info os.FileInfo, err error) error {
		if err != nil || info.IsDir() {
			return err
		}
		rel, err := filepath.Rel(root, p)
		files = append(files, filepath.ToSlash(rel))
		return err
	})
	sort.Strings(files)
	return files, err
}

// parse reads every template file into one set, so a define in one is visible to all.
func parse(chartDir, chartName string, files []string) (*template.Template, error) {
	set := template.New(chartName)
	funcs := functions(set)
	set.Funcs(funcs).Option("missingkey=zero")
	for _, file := range files {
		text, err := os.ReadFile(filepath.Join(chartDir, "templates", filepath.FromSlash(file)))
		if err != nil {
			return nil, err
		}
		if _, err := set.New(chartName + "/templates/" + file).Parse(string(text)); err != nil {
			return nil, err
		}
	}
	return set, nil
}

// functions is Sprig's library and Helm's own, bound to the template set include and tpl run in.
func functions(set *template.Template) template.FuncMap {
	funcs := sprig.TxtFuncMap()
	delete(funcs, "env")
	delete(funcs, "expandenv")

	depth := map[string]int{}
	funcs["include"] = func(name string, data interface{}) (string, error) {
		if depth[name] >= recursionLimit {
			return "", fmt.Errorf("include %q: nested more than %d times", name, recursionLimit)
		}
		depth[name]++
		defer func() { depth[name]-- }()
		var out bytes.Buffer
		err := set.ExecuteTemplate(&out, name, data)
		return out.String(), err
	}
	funcs["tpl"] = func(text string, data interface{}) (string, error) {
		clone, err := set.Clone()
		if err != nil {
			return "", err
		}
		name := "tpl"
		if m, ok := data.(map[string]interface{}); ok {
			if t, ok := m["Template"].(map[string]interface{}); ok {
				name = fmt.Sprint(t["Name"])
			}
		}
		parsed, err := clone.New(name).Parse(text)
		if err != nil {
			return "", fmt.Errorf("tpl: %v", err)
		}
		var out bytes.Buffer
		if err := parsed.Execute(&out, data); err != nil {
			return "", fmt.Errorf("tpl: %v", err)
		}
		return strings.ReplaceAll(out.String(), "<no value>", ""), nil
	}
	funcs["required"] = func(message string, v interface{}) (interface{}, error) {
		if s, ok := v.(string); v == nil || (ok && s == "") {
			return v, fmt.Errorf("%s", message)
		}
		return v, nil
	}
	funcs["toYaml"] = func(v interface{}) string {
		out, err := yaml.Marshal(v)
		if err != nil {
			return ""
		}
		return strings.TrimSuffix(string(out), "\n")
	}
	funcs["fromYaml"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	funcs["fromYamlArray"] = func(s string) []interface{} {
		a := []interface{}{}
		if err := yaml.Unmarshal([]byte(s), &a); err != nil {
			a = []interface{}{err.Error()}
		}
		return a
	}
	funcs["toJson"] = func(v interface{}) string {
		out, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		return string(out)
	}
	funcs["fromJson"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			m["Error"] = err.Error()
		}
		return m
	}
	funcs["fromJsonArray"] = func(s string) []interface{} {
		a := []interface{}{}
		if err := json.Unmarshal([]byte(s), &a); err != nil {
			a = []interface{}{err.Error()}
		}
		return a
	}
	funcs["lookup"] = func(apiVersion, kind, namespace, name string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil
	}
	return funcs
}

func copyMap(m map[string]interface{}) map[string]interface{} {
	out := make(map[string]interface{}, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}
