using AgentMetrics.Kubernetes.Client;
using AgentMetrics.Kubernetes.Models;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace AgentMetrics.Kubernetes.Runtime;

/// <summary>Leader-election timings; the defaults are Kubernetes' own.</summary>
public sealed record LeaderElectionOptions
{
    /// <summary>How long a lease stays valid after its last renewal, as judged by the other candidates.</summary>
    public TimeSpan LeaseDuration { get; init; } = TimeSpan.FromSeconds(15);

    /// <summary>How long the leader keeps trying to renew before it gives up leading.</summary>
    public TimeSpan RenewDeadline { get; init; } = TimeSpan.FromSeconds(10);

    /// <summary>How often candidates try to acquire, and the leader renews.</summary>
    public TimeSpan RetryPeriod { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>Give the lease up on shutdown so another replica leads at once.</summary>
    public bool ReleaseOnCancel { get; init; } = true;
}

/// <summary>
/// Leader election on a coordination.k8s.io/v1 Lease. Expiry is judged by this process's monotonic
/// clock from when it last saw the lease change, never by the holder's timestamps; renewals are
/// updates carrying the resourceVersion, so two candidates cannot both win. Losing the lease cancels
/// the leader's work at once.
/// </summary>
public sealed class LeaderElector
{
    private readonly KubernetesClient _client;
    private readonly string _namespace;
    private readonly string _name;
    private readonly LeaderElectionOptions _options;
    private readonly TimeProvider _clock;
    private readonly ILogger _logger;
    private LeaseSpec? _observed;
    private long _observedAt;
    private volatile bool _isLeader;

    /// <summary>Creates a candidate named <paramref name="identity"/> for the lease <paramref name="namespace"/>/<paramref name="name"/>.</summary>
    public LeaderElector(
        KubernetesClient client, string @namespace, string name, string identity, LeaderElectionOptions? options = null,
        ILogger? logger = null, TimeProvider? clock = null)
    {
        _client = client;
        _namespace = @namespace;
        _name = name;
        Identity = identity;
        _options = options ?? new LeaderElectionOptions();
        _logger = logger ?? NullLogger.Instance;
        _clock = clock ?? TimeProvider.System;
        RuntimeMetrics.TrackLeader($"{@namespace}/{name}", () => _isLeader);
    }

    /// <summary>This candidate's identity, written into the lease while it leads.</summary>
    public string Identity { get; }

    /// <summary>True while this candidate holds the lease.</summary>
    public bool IsLeader => _isLeader;

    /// <summary>
    /// Campaigns until cancelled. While leading, <paramref name="whileLeading"/> runs with a token that
    /// is cancelled the moment the lease is lost; after a loss the candidate campaigns again.
    /// </summary>
    public async Task RunAsync(Func<CancellationToken, Task> whileLeading, CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            if (!await AcquireAsync(cancellationToken))
            {
                break;
            }

            using var leading = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            _isLeader = true;
            _logger.LogInformation("{Identity} leads {Namespace}/{Lease}", Identity, _namespace, _name);
            var work = Task.Run(() => whileLeading(leading.Token), CancellationToken.None);
            var renewing = RenewWhileLeadingAsync(cancellationToken);
            var first = await Task.WhenAny(work, renewing);
            _isLeader = false;
            await leading.CancelAsync();
            await Settle(work);
            await Settle(renewing);
            if (first == work && !cancellationToken.IsCancellationRequested)
            {
                _logger.LogWarning("{Identity}: the leader's work ended on its own; giving the lease up", Identity);
                await ReleaseAsync();
                break;
            }

            if (cancellationToken.IsCancellationRequested)
            {
                if (_options.ReleaseOnCancel)
                {
                    await ReleaseAsync();
                }

                break;
            }

            _logger.LogWarning("{Identity} lost {Namespace}/{Lease}", Identity, _namespace, _name);
        }
    }

    /// <summary>One attempt to take or renew the lease; true when this candidate holds it afterwards.</summary>
    internal async Task<bool> TryAcquireOrRenewAsync(CancellationToken cancellationToken)
    {
        var now = _clock.GetUtcNow();
        var lease = await _client.TryGetAsync(ResourceType.Leases, _namespace, _name, KubernetesJsonContext.Default.Lease, cancellationToken);
        if (lease is null)
        {
            var fresh = new Lease
            {
                Metadata = new ObjectMeta { Name = _name, Namespace = _namespace },
                Spec = Held(now, now, 0),
            };
            try
            {
                Observe((await _client.CreateAsync(ResourceType.Leases, _namespace, fresh, KubernetesJsonContext.Default.Lease, cancellationToken)).Spec);
                return true;
            }
            catch (KubernetesApiException e) when (e.IsAlreadyExists)
            {
                return false;
            }
        }

        if (_observed is null || _observed.HolderIdentity != lease.Spec.HolderIdentity
            || _observed.RenewTime != lease.Spec.RenewTime || _observed.LeaseTransitions != lease.Spec.LeaseTransitions)
        {
            Observe(lease.Spec);
        }

        var holder = lease.Spec.HolderIdentity;
        var heldByOther = !string.IsNullOrEmpty(holder) && holder != Identity;
        var duration = TimeSpan.FromSeconds(lease.Spec.LeaseDurationSeconds ?? (int)_options.LeaseDuration.TotalSeconds);
        if (heldByOther && _clock.GetElapsedTime(_observedAt) < duration)
        {
            return false;
        }

        var transitions = lease.Spec.LeaseTransitions ?? 0;
        lease.Spec = holder == Identity
            ? Held(lease.Spec.AcquireTime ?? now, now, transitions)
            : Held(now, now, transitions + 1);
        try
        {
            Observe((await _client.ReplaceAsync(ResourceType.Leases, _namespace, _name, lease, KubernetesJsonContext.Default.Lease, cancellationToken: cancellationToken)).Spec);
            return true;
        }
        catch (KubernetesApiException e) when (e.IsConflict)
        {
            return false;
        }
    }

    private async Task<bool> AcquireAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                if (await TryAcquireOrRenewAsync(cancellationToken))
                {
                    return true;
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return false;
            }
            catch (Exception e) when (e is KubernetesApiException or HttpRequestException or IOException or TimeoutException)
            {
                _logger.LogWarning("{Identity}: acquiring {Lease} failed: {Error}", Identity, _name, e.Message);
            }

            try
            {
                await Task.Delay(Jittered(_options.RetryPeriod), _clock, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return false;
            }
        }

        return false;
    }

    /// <summary>Renews every retry period; returns when renewing failed for the whole renew deadline, or another holds the lease.</summary>
    private async Task RenewWhileLeadingAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            await Task.Delay(_options.RetryPeriod, _clock, cancellationToken);
            var started = _clock.GetTimestamp();
            var renewed = false;
            while (!renewed && _clock.GetElapsedTime(started) < _options.RenewDeadline)
            {
                using var attempt = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                attempt.CancelAfter(_options.RenewDeadline - _clock.GetElapsedTime(started));
                try
                {
                    renewed = await TryAcquireOrRenewAsync(attempt.Token);
                    if (!renewed)
                    {
                        return;
                    }
                }
                catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
                {
                    break;
                }
                catch (Exception e) when (e is KubernetesApiException or HttpRequestException or IOException or TimeoutException)
                {
                    _logger.LogWarning("{Identity}: renewing {Lease} failed: {Error}", Identity, _name, e.Message);
                    await Task.Delay(_options.RetryPeriod / 4, _clock, cancellationToken);
                }
            }

            if (!renewed)
            {
                return;
            }
        }
    }

    private async Task ReleaseAsync()
    {
        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(5));
            var lease = await _client.TryGetAsync(ResourceType.Leases, _namespace, _name, KubernetesJsonContext.Default.Lease, timeout.Token);
            if (lease?.Spec.HolderIdentity != Identity)
            {
                return;
            }

            lease.Spec.HolderIdentity = null;
            lease.Spec.LeaseDurationSeconds = 1;
            lease.Spec.RenewTime = _clock.GetUtcNow();
            await _client.ReplaceAsync(ResourceType.Leases, _namespace, _name, lease, KubernetesJsonContext.Default.Lease, cancellationToken: timeout.Token);
            _logger.LogInformation("{Identity} released {Namespace}/{Lease}", Identity, _namespace, _name);
        }
        catch (Exception e) when (e is KubernetesApiException or HttpRequestException or IOException or TimeoutException or OperationCanceledException)
        {
            _logger.LogWarning("{Identity}: releasing {Lease} failed: {Error}", Identity, _name, e.Message);
        }
    }

    private LeaseSpec Held(DateTimeOffset acquired, DateTimeOffset renewed, int transitions) => new()
    {
        HolderIdentity = Identity,
        LeaseDurationSeconds = (int)_options.LeaseDuration.TotalSeconds,
        AcquireTime = acquired,
        RenewTime = renewed,
        LeaseTransitions = transitions,
    };

    private void Observe(LeaseSpec spec)
    {
        _observed = spec;
        _observedAt = _clock.GetTimestamp();
    }

    private static TimeSpan Jittered(TimeSpan period) => period * (1 + (Random.Shared.NextDouble() * 0.2));

    private static async Task Settle(Task task)
    {
        try
        {
            await task;
        }
        catch (OperationCanceledException)
        {
            // Expected: the work was cancelled because leadership ended.
        }
    }
}
