using AgentMetrics.Kubernetes.Models;
using AgentMetrics.Kubernetes.Runtime;
using AgentMetrics.Rendering;

namespace AgentMetrics.Operator;

/// <summary>
/// The flag <c>enable-agent-metrics</c>: the key of that name in the ConfigMap agent-metrics-config of the
/// operator's namespace when it is there and says true or false, otherwise the command line's default.
/// Read from an informer, so a change is seen as soon as the watch delivers it, without a restart.
/// </summary>
public sealed class FeatureGate
{
    private readonly Informer<KubernetesObject> _configMaps;
    private readonly string _namespace;
    private readonly bool _default;
    private readonly ILogger _logger;
    private readonly Lock _lock = new();
    private volatile bool _enabled;

    /// <summary>Follows the flag through <paramref name="configMaps"/>, an informer on the operator's namespace.</summary>
    public FeatureGate(Informer<KubernetesObject> configMaps, string @namespace, bool defaultValue, ILogger logger)
    {
        _configMaps = configMaps;
        _namespace = @namespace;
        _default = defaultValue;
        _logger = logger;
        _enabled = defaultValue;
        configMaps.Subscribe(change =>
        {
            if (change.Object.Metadata.Name == Names.FlagConfigMap)
            {
                Refresh();
            }
        });
    }

    /// <summary>Whether agent metrics are on now.</summary>
    public bool Enabled => _enabled;

    /// <summary>Where the flag lives, for messages.</summary>
    public string Source => $"ConfigMap {_namespace}/{Names.FlagConfigMap}, key {Names.FeatureFlag}";

    /// <summary>Raised after the flag flips, with its new value.</summary>
    public event Action<bool>? Changed;

    /// <summary>Reads the flag from the ConfigMap as the informer holds it now.</summary>
    public void Refresh()
    {
        var value = _default;
        var configMap = _configMaps.Cache.Get(new ObjectKey(_namespace, Names.FlagConfigMap));
        if (configMap?.Body["data"]?[Names.FeatureFlag] is { } node)
        {
            var text = node.ToString().Trim();
            if (bool.TryParse(text, out var parsed))
            {
                value = parsed;
            }
            else
            {
                _logger.LogWarning(
                    "{Source} must be true or false, got \"{Value}\"; using the default {Default}", Source, text, _default);
            }
        }

        lock (_lock)
        {
            if (_enabled == value)
            {
                return;
            }

            _enabled = value;
        }

        {
            _logger.LogInformation("{Flag} is now {Value}", Names.FeatureFlag, value);
            Changed?.Invoke(value);
        }
    }
}
