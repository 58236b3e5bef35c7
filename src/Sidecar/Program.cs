using AgentMetrics.Sidecar;

if (args is ["--help"] or ["-h"])
{
    Console.WriteLine("agent-metrics-sidecar: takes agent events and OTLP on localhost and delivers agent metrics to Prometheus.\n");
    foreach (var (flag, _, help) in SidecarSettings.All)
    {
        Console.WriteLine($"  {flag,-34} {help} [{SidecarSettings.EnvironmentVariable(flag)}]");
    }

    return 0;
}

SidecarApp app;
try
{
    app = SidecarApp.Build(SidecarSettings.Read(args));
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"agent-metrics-sidecar: {e.Message}");
    return 2;
}

await using (app)
{
    await app.RunAsync();
}

return 0;
