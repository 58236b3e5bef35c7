using System.CommandLine;
using System.Text.Json;
using AgentMetrics.Api.Catalog;
using AgentMetrics.Cli.Manifests;
using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Rendering;

namespace AgentMetrics.Cli.Commands;

/// <summary>
/// render: prints what the operator would write for the input's objects, from the renderers it uses:
/// each namespace's scrape configuration, each definition's and threshold's rules object, the built-in
/// rules and the dashboards in the operator's namespace. Objects with errors are refused as validate
/// reports them (exit code 1, nothing printed), because the operator renders nothing for them.
/// </summary>
public static class RenderCommand
{
    /// <summary>The subcommand, reading from <paramref name="input"/> for - and printing to <paramref name="output"/> and <paramref name="error"/>.</summary>
    public static Command Create(TextReader input, TextWriter output, TextWriter error)
    {
        var paths = ManifestArguments.Paths();
        var @namespace = ManifestArguments.Namespace();
        var dashboardDefaults = new DashboardOptions();
        var mode = Flag("--output", "what alert rules and scrape wiring are written as, as the operator's flag: prometheus-operator (PrometheusRule, PodMonitor) or configmaps (rule files and a scrape config for a Prometheus configured by hand)", OutputOptions.DefaultMode);
        var selectorLabels = Flag("--selector-labels", "labels for the Prometheus's rule and pod-monitor selectors, as key=value[,key=value], as the operator's flag", OutputOptions.DefaultSelectorLabels);
        var operatorNamespace = Flag("--operator-namespace", "the namespace the operator runs in (its --namespace): the dashboards and the built-in rules go there", Names.OperatorNamespace);
        var folder = Flag("--dashboard-folder", "the Grafana folder the dashboards go in, as the operator's flag", dashboardDefaults.Folder);
        var folderAnnotation = Flag("--dashboard-folder-annotation", "the annotation Grafana's dashboard sidecar reads the folder from, as the operator's flag", dashboardDefaults.FolderAnnotation);
        var command = new Command(
            "render",
            "Print, as YAML, what the operator would write for these objects: scrape configuration, rules objects, built-in rules, dashboards. "
            + "Exit 0: rendered; 1: an object has errors (printed as validate prints them, nothing rendered); 2: bad usage or unreadable input.")
        {
            paths, @namespace, mode, selectorLabels, operatorNamespace, folder, folderAnnotation,
        };
        command.SetAction(parsed =>
        {
            var options = OutputOptions.Parse(parsed.GetValue(mode)!, parsed.GetValue(selectorLabels)!);
            var dashboards = new DashboardOptions { Folder = parsed.GetValue(folder)!, FolderAnnotation = parsed.GetValue(folderAnnotation)! };
            var result = ManifestChecker.Check(ManifestSource.Read(parsed.GetValue(paths)!, input), parsed.GetValue(@namespace)!);
            foreach (var problem in result.Problems)
            {
                error.WriteLine(problem);
            }

            if (result.Problems.Any(p => p.Severity == Severity.Error))
            {
                return 1;
            }

            var objects = Render(result, PrometheusOutput.For(options), parsed.GetValue(operatorNamespace)!, dashboards);
            YamlWriter.Write(output, objects.Select(o => JsonSerializer.SerializeToNode(o, KubernetesJsonContext.Default.KubernetesObject)!));
            return 0;
        });
        return command;
    }

    /// <summary>
    /// The objects, in the order a reader finds them: per namespace its scrape configuration (the operator
    /// writes it once an agent there carries the sidecar), then every rules object; then the built-in rules
    /// and the dashboards of the operator's namespace, which the operator writes whatever the input.
    /// A threshold whose metric nothing defines is left out, as the operator leaves it until it is defined.
    /// </summary>
    public static IEnumerable<KubernetesObject> Render(CheckResult result, PrometheusOutput output, string operatorNamespace, DashboardOptions dashboards)
    {
        var namespaces = result.Definitions.Select(d => d.Metadata.Namespace!).Concat(result.Thresholds.Select(t => t.Metadata.Namespace!))
            .Distinct().Order(StringComparer.Ordinal);
        foreach (var @namespace in namespaces)
        {
            yield return output.Scrape(@namespace);
            foreach (var definition in result.Definitions.Where(d => d.Metadata.Namespace == @namespace))
            {
                yield return output.Rules(definition, RuleRenderer.ForDefinition(definition));
            }

            var defined = result.Definitions.Where(d => d.Metadata.Namespace == @namespace).ToList();
            foreach (var threshold in result.Thresholds.Where(t => t.Metadata.Namespace == @namespace))
            {
                yield return output.Rules(threshold, RuleRenderer.ForThreshold(threshold, MetricCatalog.Resolve(threshold.Spec.Metric, defined)!));
            }
        }

        yield return output.BuiltInRules(operatorNamespace);
        foreach (var dashboard in Dashboards.All(result.Definitions))
        {
            yield return ObjectRenderer.Dashboard(dashboard, operatorNamespace, dashboards);
        }
    }

    private static Option<string> Flag(string name, string description, string defaultValue) => new(name)
    {
        Description = description,
        DefaultValueFactory = _ => defaultValue,
        HelpName = "value",
    };
}
