using AgentMetrics.Cli;

return CliCommandLine.Run(args, Console.In, Console.Out, Console.Error);
