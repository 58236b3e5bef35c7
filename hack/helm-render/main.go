// Command helm-render renders a Helm chart the way `helm template` does, for checking
// charts/agent-metrics on machines that have no helm binary (Debian packages none). It is written
// for this project's chart, from Helm's documented behaviour, on Go's text/template and Debian's
// Sprig 3.2 (the function library Helm 3 uses).
//
//	helm-render [flags] RELEASE CHART_DIR
//	  -n, --namespace NS        .Release.Namespace (default "default")
//	  -f, --values FILE         values merged over values.yaml, in order (repeatable)
//	  --set k.e.y=v[,k=v]       typed overrides after the files (repeatable)
//	  --set-string k=v          the same, every value a string (repeatable)
//	  --kube-version v1.32.0    .Capabilities.KubeVersion (default v1.32.0)
//	  -a, --api-versions g/v    more entries for .Capabilities.APIVersions (repeatable)
//	  --is-upgrade              .Release.IsUpgrade true, IsInstall false (Revision 2)
//	  --show-only PATH          print only the manifests of templates/PATH (repeatable)
//	  --notes                   print the rendered templates/NOTES.txt instead of the manifests
//
// What it reproduces of Helm 3:
//   - Chart.yaml: apiVersion v1 or v2, name and a SemVer version required; `kubeVersion` is
//     checked against --kube-version as Helm checks it against the cluster's version.
//   - Values: values.yaml, then each -f file deep-merged over it (maps merge, anything else is
//     replaced), then --set and --set-string; a null removes a default. Files are read as Helm reads
//     them (YAML through JSON), so numbers from files are float64 and numbers from --set are int64.
//   - values.schema.json: the final values are validated with gojsonschema, the library Helm 3 uses,
//     and a violation stops the render with one line per field, as `helm template` does.
//   - Templates: every file under templates/ (subdirectories too) is parsed into one template set
//     named <chart>/templates/<path>, so `define`s in any file, conventionally _helpers.tpl, are
//     shared; files whose name starts with `_` are never rendered; .yaml and .yml files are rendered,
//     NOTES.txt only with --notes, other files not at all. Options as Helm's: missingkey=zero, and
//     "<no value>" in the output becomes "".
//   - Functions: Sprig's TxtFuncMap without env and expandenv (Helm removes them), and Helm's
//     include (with Helm's limit of 1000 nested calls), tpl, required, toYaml, fromYaml,
//     fromYamlArray, toJson, fromJson, fromJsonArray, and lookup, which always returns an empty map,
//     as `helm template` does without a cluster.
//   - Objects: .Values; .Release with Name, Namespace, Service "Helm", IsInstall, IsUpgrade and
//     Revision; .Chart with Chart.yaml's fields under Helm's names (.Chart.Name, .Chart.Version,
//     .Chart.AppVersion, ...); .Capabilities.KubeVersion (Version, Major, Minor, GitVersion) and
//     .Capabilities.APIVersions.Has (the built-in API groups of Kubernetes plus --api-versions);
//     .Template.Name and .Template.BasePath.
//   - Output: each template's output split on `---` lines, whitespace-only documents dropped, each
//     document parsed as YAML (an error names the template), sorted stably by Helm's install order of
//     kinds (unknown kinds last, alphabetically), and printed as `---`, `# Source: <template>`, the
//     document.
//
// What it does not reproduce, so a chart relying on it fails here or is not checked by it:
//   - subcharts and dependencies (refused), library charts (refused), and the crds/ directory
//     (ignored: the chart installs its CRDs from templates, see its values.yaml);
//   - hooks: a manifest annotated helm.sh/hook is printed in place like any other, with no hook
//     ordering, weights or delete policies (the chart has none);
//   - .Files, .Subcharts, toToml, getHostByName and --set's list-index syntax (a[0]=x); a template
//     using one of the objects or functions fails with text/template's error;
//   - lookup against a cluster, the OpenAPI validation of `helm install` (the checks use
//     `kubectl apply --dry-run=server` instead), release storage, upgrades' three-way merges and
//     `helm.sh/resource-policy` (honoured only by a real helm at uninstall).
//
// Build: hack/helm-render/build.sh OUTPUT, offline, in GOPATH mode from Debian's Go sources in
// /usr/share/gocode (see build.sh for the packages).
package main

import (
	"flag"
	"fmt"
	"os"
	"strings"
)

type repeated []string

func (r *repeated) String() string     { return strings.Join(*r, ",") }
func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }

func main() {
	if err := run(os.Args[1:]); err != nil {
		fmt.Fprintf(os.Stderr, "helm-render: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string) error {
	flags := flag.NewFlagSet("helm-render", flag.ContinueOnError)
	var opts options
	var valueFiles, sets, setStrings, apiVersions, showOnly repeated
	for _, name := range []string{"n", "namespace"} {
		flags.StringVar(&opts.namespace, name, "default", "the release's namespace")
	}
	for _, name := range []string{"f", "values"} {
		flags.Var(&valueFiles, name, "a values file merged over values.yaml (repeatable)")
	}
	flags.Var(&sets, "set", "key=value overrides, typed (repeatable)")
	flags.Var(&setStrings, "set-string", "key=value overrides, as strings (repeatable)")
	flags.StringVar(&opts.kubeVersion, "kube-version", "v1.32.0", "the Kubernetes version templates see")
	for _, name := range []string{"a", "api-versions"} {
		flags.Var(&apiVersions, name, "an API version templates see as present (repeatable)")
	}
	flags.BoolVar(&opts.isUpgrade, "is-upgrade", false, "render as an upgrade instead of an install")
	flags.Var(&showOnly, "show-only", "print only this template's manifests (repeatable)")
	flags.BoolVar(&opts.notes, "notes", false, "print the rendered NOTES.txt instead of the manifests")

	// Helm takes flags before, between and after its two positional arguments.
	var positional []string
	for {
		if err := flags.Parse(args); err != nil {
			return err
		}
		args = flags.Args()
		if len(args) == 0 {
			break
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
	if len(positional) != 2 {
		return fmt.Errorf("usage: helm-render [flags] RELEASE CHART_DIR (got %d arguments)", len(positional))
	}
	opts.release, opts.chartDir = positional[0], positional[1]
	opts.valueFiles, opts.sets, opts.setStrings = valueFiles, sets, setStrings
	opts.apiVersions, opts.showOnly = apiVersions, showOnly

	out, err := render(opts)
	if err != nil {
		return err
	}
	_, err = os.Stdout.WriteString(out)
	return err
}
