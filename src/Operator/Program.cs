using AgentMetrics.Operator;

var settings = OperatorCommandLine.Parse(args, Environment.GetEnvironmentVariable, Console.Out, Console.Error, out var exitCode);
if (settings is null)
{
    return exitCode;
}

await OperatorApp.Build(settings).RunAsync();
return 0;
