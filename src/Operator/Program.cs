using System.Security.Cryptography;
using AgentMetrics.Operator;

var settings = OperatorCommandLine.Parse(args, Environment.GetEnvironmentVariable, Console.Out, Console.Error, out var exitCode);
if (settings is null)
{
    return exitCode;
}

WebApplication app;
try
{
    app = OperatorApp.Build(settings);
}
catch (Exception e) when (e is ArgumentException or FormatException or IOException or InvalidOperationException
    or UnauthorizedAccessException or CryptographicException)
{
    // What the settings point at is unusable (a kubeconfig that does not parse, no cluster, a
    // certificate that does not load): said in one line, before anything has started.
    Console.Error.WriteLine($"{OperatorCommandLine.Program}: {e.Message.ReplaceLineEndings(" ")}");
    return 2;
}

await app.RunAsync();
return 0;
