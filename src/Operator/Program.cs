using AgentMetrics.Operator;

OperatorSettings settings;
try
{
    settings = OperatorApp.Settings(args);
    settings.ToOutputOptions();
}
catch (ArgumentException e)
{
    Console.Error.WriteLine($"agent-metrics-operator: {e.Message}");
    return 2;
}

await OperatorApp.Build(settings).RunAsync();
return 0;
