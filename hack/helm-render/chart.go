package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/Masterminds/semver/v3"
	"github.com/xeipuuv/gojsonschema"
	"sigs.k8s.io/yaml"
)

// Metadata is Chart.yaml under the field names templates use (.Chart.Name, .Chart.AppVersion).
type Metadata struct {
	APIVersion   string            `json:"apiVersion"`
	Name         string            `json:"name"`
	Version      string            `json:"version"`
	KubeVersion  string            `json:"kubeVersion,omitempty"`
	Description  string            `json:"description,omitempty"`
	Type         string            `json:"type,omitempty"`
	Keywords     []string          `json:"keywords,omitempty"`
	Home         string            `json:"home,omitempty"`
	Sources      []string          `json:"sources,omitempty"`
	Maintainers  []interface{}     `json:"maintainers,omitempty"`
	Icon         string            `json:"icon,omitempty"`
	AppVersion   string            `json:"appVersion,omitempty"`
	Deprecated   bool              `json:"deprecated,omitempty"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	Dependencies []interface{}     `json:"dependencies,omitempty"`
}

func loadMetadata(chartDir string) (*Metadata, error) {
	data, err := os.ReadFile(filepath.Join(chartDir, "Chart.yaml"))
	if err != nil {
		return nil, err
	}
	var m Metadata
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("Chart.yaml: %v", err)
	}
	switch {
	case m.APIVersion != "v1" && m.APIVersion != "v2":
		return nil, fmt.Errorf("Chart.yaml: apiVersion must be v1 or v2, got %q", m.APIVersion)
	case m.Name == "":
		return nil, fmt.Errorf("Chart.yaml: name is required")
	case m.Type == "library":
		return nil, fmt.Errorf("Chart.yaml: a library chart cannot be rendered")
	case len(m.Dependencies) > 0:
		return nil, fmt.Errorf("Chart.yaml: dependencies (subcharts) are not supported by helm-render")
	}
	if _, err := semver.StrictNewVersion(m.Version); err != nil {
		return nil, fmt.Errorf("Chart.yaml: version %q is not SemVer 2: %v", m.Version, err)
	}
	if _, err := os.Stat(filepath.Join(chartDir, "charts")); err == nil {
		return nil, fmt.Errorf("%s/charts: subcharts are not supported by helm-render", chartDir)
	}
	return &m, nil
}

// checkKubeVersion refuses, as Helm does, a Kubernetes version outside Chart.yaml's kubeVersion.
func checkKubeVersion(m *Metadata, version *semver.Version) error {
	if m.KubeVersion == "" {
		return nil
	}
	constraint, err := semver.NewConstraint(m.KubeVersion)
	if err != nil {
		return fmt.Errorf("Chart.yaml: kubeVersion %q: %v", m.KubeVersion, err)
	}
	if !constraint.Check(version) {
		return fmt.Errorf("chart requires kubeVersion: %s which is incompatible with Kubernetes v%s", m.KubeVersion, version)
	}
	return nil
}

func readValuesFile(path string) (map[string]interface{}, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	values := map[string]interface{}{}
	if err := yaml.Unmarshal(data, &values); err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return values, nil
}

// values builds what templates see as .Values: the chart's defaults under the user's values.
func values(o options) (map[string]interface{}, error) {
	defaults, err := readValuesFile(filepath.Join(o.chartDir, "values.yaml"))
	if err != nil && !os.IsNotExist(err) {
		return nil, err
	}
	user := map[string]interface{}{}
	for _, file := range o.valueFiles {
		v, err := readValuesFile(file)
		if err != nil {
			return nil, err
		}
		user = mergeMaps(user, v)
	}
	for _, set := range o.sets {
		if err := applySet(user, set, true); err != nil {
			return nil, err
		}
	}
	for _, set := range o.setStrings {
		if err := applySet(user, set, false); err != nil {
			return nil, err
		}
	}
	return coalesce(user, defaults), nil
}

// mergeMaps lays b over a: maps merge key by key, anything else in b replaces a's.
func mergeMaps(a, b map[string]interface{}) map[string]interface{} {
	out := make(map[string]interface{}, len(a))
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		if bm, ok := v.(map[string]interface{}); ok {
			if am, ok := out[k].(map[string]interface{}); ok {
				out[k] = mergeMaps(am, bm)
				continue
			}
		}
		out[k] = v
	}
	return out
}

// coalesce fills the user's values from the defaults; a null the user gives removes the default.
func coalesce(user, defaults map[string]interface{}) map[string]interface{} {
	out := map[string]interface{}{}
	for k, d := range defaults {
		u, given := user[k]
		switch {
		case !given:
			out[k] = d
		case u == nil:
		default:
			um, uok := u.(map[string]interface{})
			dm, dok := d.(map[string]interface{})
			if uok && dok {
				out[k] = coalesce(um, dm)
			} else {
				out[k] = u
			}
		}
	}
	for k, u := range user {
		if _, known := defaults[k]; !known && u != nil {
			out[k] = dropNulls(u)
		}
	}
	return out
}

func dropNulls(v interface{}) interface{} {
	m, ok := v.(map[string]interface{})
	if !ok {
		return v
	}
	out := map[string]interface{}{}
	for k, e := range m {
		if e != nil {
			out[k] = dropNulls(e)
		}
	}
	return out
}

// applySet applies one --set argument: comma-separated key=value pairs, keys dotted into maps;
// `\.` and `\,` escape a dot or comma, and `{a,b}` is a list.
func applySet(into map[string]interface{}, arg string, typed bool) error {
	for _, pair := range splitUnescaped(arg, ',', true) {
		eq := strings.IndexByte(pair, '=')
		if eq <= 0 {
			return fmt.Errorf("--set %q: want key=value", pair)
		}
		keys := splitUnescaped(pair[:eq], '.', false)
		raw := pair[eq+1:]
		var value interface{}
		if strings.HasPrefix(raw, "{") && strings.HasSuffix(raw, "}") {
			list := []interface{}{}
			for _, item := range splitUnescaped(raw[1:len(raw)-1], ',', false) {
				list = append(list, setValue(unescape(item), typed))
			}
			value = list
		} else {
			value = setValue(unescape(raw), typed)
		}
		node := into
		for i, key := range keys {
			if strings.ContainsAny(key, "[]") {
				return fmt.Errorf("--set %q: list indexes are not supported by helm-render", pair)
			}
			if i == len(keys)-1 {
				node[key] = value
				break
			}
			next, ok := node[key].(map[string]interface{})
			if !ok {
				next = map[string]interface{}{}
				node[key] = next
			}
			node = next
		}
	}
	return nil
}

var integer = regexp.MustCompile(`^(0|-?[1-9][0-9]*)$`)

func setValue(raw string, typed bool) interface{} {
	if !typed {
		return raw
	}
	switch raw {
	case "true":
		return true
	case "false":
		return false
	case "null":
		return nil
	}
	if integer.MatchString(raw) {
		if n, err := strconv.ParseInt(raw, 10, 64); err == nil {
			return n
		}
	}
	return raw
}

// splitUnescaped splits on sep where it is not preceded by a backslash, and outside {...} when
// braces is set (so a list's commas stay in its value).
func splitUnescaped(s string, sep byte, braces bool) []string {
	var parts []string
	var cur strings.Builder
	depth := 0
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c == '\\' && i+1 < len(s):
			if sep == '.' {
				cur.WriteByte(s[i+1])
			} else {
				cur.WriteByte(c)
				cur.WriteByte(s[i+1])
			}
			i++
		case braces && c == '{':
			depth++
			cur.WriteByte(c)
		case braces && c == '}':
			depth--
			cur.WriteByte(c)
		case c == sep && depth == 0:
			parts = append(parts, cur.String())
			cur.Reset()
		default:
			cur.WriteByte(c)
		}
	}
	return append(parts, cur.String())
}

func unescape(s string) string {
	return strings.NewReplacer(`\,`, ",", `\.`, ".", `\\`, `\`).Replace(s)
}

// validateSchema checks the final values against values.schema.json, when the chart has one.
func validateSchema(chartDir, chartName string, vals map[string]interface{}) error {
	schema, err := os.ReadFile(filepath.Join(chartDir, "values.schema.json"))
	if os.IsNotExist(err) {
		return nil
	}
	if err != nil {
		return err
	}
	// The values go through YAML to JSON as Helm's do, so the schema sees what templates see.
	asYaml, err := yaml.Marshal(vals)
	if err != nil {
		return err
	}
	asJSON, err := yaml.YAMLToJSON(asYaml)
	if err != nil {
		return err
	}
	result, err := gojsonschema.Validate(gojsonschema.NewBytesLoader(schema), gojsonschema.NewBytesLoader(asJSON))
	if err != nil {
		return fmt.Errorf("values.schema.json: %v", err)
	}
	if result.Valid() {
		return nil
	}
	var lines []string
	for _, e := range result.Errors() {
		lines = append(lines, fmt.Sprintf("- %s: %s", e.Field(), e.Description()))
	}
	sort.Strings(lines)
	return fmt.Errorf("values don't meet the specifications of the schema(s) in the following chart(s):\n%s:\n%s",
		chartName, strings.Join(lines, "\n"))
}
