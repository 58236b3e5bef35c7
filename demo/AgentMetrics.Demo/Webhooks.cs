using System.Text;
using System.Text.Json.Nodes;
using AgentMetrics.Testing;

namespace AgentMetrics.Demo;

/// <summary>Registers config/webhook/*.yaml with the API server, pointing at the operator by URL instead of through a Service.</summary>
internal static class Webhooks
{
    public static async Task RegisterAsync(ControlPlane plane, Uri operatorUrl, string caPem)
    {
        foreach (var file in Directory.GetFiles(RepoPaths.Combine("config", "webhook"), "*.yaml"))
        {
            var configuration = YamlJson.Parse(await File.ReadAllTextAsync(file))!.AsObject();
            foreach (var webhook in configuration["webhooks"]!.AsArray())
            {
                var path = (string)webhook!["clientConfig"]!["service"]!["path"]!;
                webhook["clientConfig"] = new JsonObject
                {
                    ["url"] = new Uri(operatorUrl, path).ToString(),
                    ["caBundle"] = Convert.ToBase64String(Encoding.ASCII.GetBytes(caPem)),
                };

                // This API server (1.20) does not label namespaces with their own name yet.
                if (webhook["namespaceSelector"] is JsonObject)
                {
                    webhook["namespaceSelector"] = new JsonObject { ["matchLabels"] = new JsonObject { ["agentmetrics.io/inject"] = "enabled" } };
                }
            }

            await plane.Kubectl.RunWithInputAsync(configuration.ToJsonString(), "apply", "-f", "-");
        }
    }
}
