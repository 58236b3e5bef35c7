using System.Buffers;
using System.Buffers.Binary;
using System.IO.Pipelines;
using System.Net;
using AgentMetrics.Sidecar.Ingest;
using AgentMetrics.Sidecar.Otlp;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using BodyReader = AgentMetrics.Sidecar.Http.BodyReader;

namespace AgentMetrics.Sidecar.Grpc;

/// <summary>
/// OTLP/gRPC on loopback (4317, the port every OpenTelemetry SDK exports to by default): the collector's
/// MetricsService and TraceService Export calls, unary, over cleartext HTTP/2, gzip or uncompressed.
/// Kestrel speaks HTTP/2; each call's message goes to the same <see cref="OtlpIntake"/> as OTLP/HTTP.
/// </summary>
internal sealed class OtlpGrpcServer : IAsyncDisposable
{
    /// <summary>The method paths of the two services, as the OTLP protos name them.</summary>
    public const string MetricsPath = "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export";
    public const string TracesPath = "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

    private readonly KestrelServer _server;
    private readonly Application _application;

    /// <summary>A server on <paramref name="endpoint"/> whose messages are read by <paramref name="bodies"/>, under the same cap and large-body slots as OTLP/HTTP's.</summary>
    public OtlpGrpcServer(IPEndPoint endpoint, OtlpIntake intake, Metrics.SelfMetrics self, BodyReader bodies)
    {
        var maxMessageBytes = bodies.MaxBodyBytes;
        Endpoint = endpoint;
        var options = new KestrelServerOptions
        {
            AddServerHeader = false,
            ApplicationServices = new ServiceCollection().BuildServiceProvider(),
        };
        options.Limits.MaxRequestBodySize = maxMessageBytes + 5L;
        options.Limits.MaxConcurrentConnections = 64;
        options.Limits.Http2.MaxStreamsPerConnection = 16;
        options.Limits.RequestHeadersTimeout = TimeSpan.FromSeconds(10);
        options.Listen(endpoint, listen => listen.Protocols = HttpProtocols.Http2);
        var transport = new SocketTransportFactory(Options.Create(new SocketTransportOptions()), NullLoggerFactory.Instance);
        _server = new KestrelServer(Options.Create(options), transport, NullLoggerFactory.Instance);
        _application = new Application(intake, self, bodies);
    }

    public IPEndPoint Endpoint { get; }

    public Task StartAsync() => _server.StartAsync(_application, CancellationToken.None);

    public Task StopAsync(TimeSpan grace)
    {
        using var timeout = new CancellationTokenSource(grace);
        return _server.StopAsync(timeout.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await StopAsync(TimeSpan.FromSeconds(1));
        _server.Dispose();
    }

    /// <summary>gRPC status codes the answers use (grpc/doc/statuscodes.md).</summary>
    private enum GrpcStatus
    {
        Ok = 0,
        InvalidArgument = 3,
        ResourceExhausted = 8,
        Unimplemented = 12,
        Unavailable = 14,
    }

    private sealed class Application(OtlpIntake intake, Metrics.SelfMetrics self, BodyReader bodies) : IHttpApplication<HttpContext>
    {
        private int MaxMessageBytes => bodies.MaxBodyBytes;

        public HttpContext CreateContext(IFeatureCollection contextFeatures) => new DefaultHttpContext(contextFeatures);

        public void DisposeContext(HttpContext context, Exception? exception)
        {
        }

        public async Task ProcessRequestAsync(HttpContext context)
        {
            var request = context.Request;
            var endpoint = request.Path.Value switch
            {
                MetricsPath => "grpc-metrics",
                TracesPath => "grpc-traces",
                _ => null,
            };
            if (endpoint is null || !HttpMethods.IsPost(request.Method))
            {
                await FailAsync(context, "grpc", GrpcStatus.Unimplemented, $"the sidecar serves {MetricsPath} and {TracesPath}, not {request.Method} {request.Path}");
                return;
            }

            if (request.ContentType is not { } type || !type.StartsWith("application/grpc", StringComparison.OrdinalIgnoreCase)
                || type.StartsWith("application/grpc-web", StringComparison.OrdinalIgnoreCase))
            {
                context.Response.StatusCode = StatusCodes.Status415UnsupportedMediaType;
                self.Rejected(endpoint, 415);
                return;
            }

            var (frame, problem) = await ReadFrameAsync(request);
            if (problem is { } refused)
            {
                await FailAsync(context, endpoint, refused.Status, refused.Message);
                return;
            }

            var compressed = frame.FirstSpan[0] == 1;
            var encoding = request.Headers["grpc-encoding"].ToString();
            if (compressed && !encoding.Equals("gzip", StringComparison.OrdinalIgnoreCase))
            {
                await FailAsync(context, endpoint, GrpcStatus.Unimplemented, $"grpc-encoding \"{encoding}\" is not supported; send gzip or identity");
                return;
            }

            // The message goes into arrays the sidecar owns, under the cap and large-body slots every body shares.
            var payload = frame.Slice(5);
            var (message, unread) = await bodies.ReadAsync(
                PipeReader.Create(payload).AsStream(), compressed, compressed ? null : payload.Length, context.RequestAborted);
            if (message is null)
            {
                var status = unread!.Status switch
                {
                    413 => GrpcStatus.ResourceExhausted,
                    503 => GrpcStatus.Unavailable,
                    _ => GrpcStatus.InvalidArgument,
                };
                await FailAsync(context, endpoint, status, unread.Message);
                return;
            }

            using (message)
            {
                OtlpOutcome outcome;
                try
                {
                    outcome = endpoint == "grpc-metrics" ? intake.Metrics(message.Data, json: false) : intake.Traces(message.Data, json: false);
                }
                catch (ProtoException e)
                {
                    await FailAsync(context, endpoint, GrpcStatus.InvalidArgument, $"not a valid OTLP protobuf message: {e.Message}");
                    return;
                }

                await AnswerAsync(context, outcome.ToProtobuf());
            }
        }

        /// <summary>Reads the request's one length-prefixed message: a compressed flag, a 4-byte big-endian length, the bytes.</summary>
        private async Task<(ReadOnlySequence<byte> Frame, (GrpcStatus Status, string Message)? Problem)> ReadFrameAsync(HttpRequest request)
        {
            var reader = request.BodyReader;
            ReadResult result;
            try
            {
                while (true)
                {
                    result = await reader.ReadAsync(request.HttpContext.RequestAborted);
                    if (result.IsCompleted)
                    {
                        break;
                    }

                    reader.AdvanceTo(result.Buffer.Start, result.Buffer.End);
                }
            }
            catch (Microsoft.AspNetCore.Http.BadHttpRequestException)
            {
                return (default, (GrpcStatus.ResourceExhausted, $"the message is larger than the {MaxMessageBytes}-byte cap (--max-body-bytes)"));
            }

            var body = result.Buffer;
            if (body.Length < 5)
            {
                return (default, (GrpcStatus.InvalidArgument, "the request holds no gRPC message (a 5-byte prefix, then the message)"));
            }

            Span<byte> prefix = stackalloc byte[5];
            body.Slice(0, 5).CopyTo(prefix);
            var length = BinaryPrimitives.ReadUInt32BigEndian(prefix[1..]);
            if (length > MaxMessageBytes)
            {
                return (default, (GrpcStatus.ResourceExhausted, $"the message is larger than the {MaxMessageBytes}-byte cap (--max-body-bytes)"));
            }

            if (body.Length != 5 + length)
            {
                return (default, (GrpcStatus.InvalidArgument, $"the message prefix says {length} bytes, the request holds {body.Length - 5} (one message per unary call)"));
            }

            return (body.Slice(0, 5 + length), null);
        }

        private static async Task AnswerAsync(HttpContext context, byte[] message)
        {
            var response = context.Response;
            response.ContentType = "application/grpc";
            var frame = new byte[5 + message.Length];
            BinaryPrimitives.WriteUInt32BigEndian(frame.AsSpan(1), (uint)message.Length);
            message.CopyTo(frame, 5);
            await response.Body.WriteAsync(frame, context.RequestAborted);
            response.AppendTrailer("grpc-status", "0");
        }

        // A trailers-only answer: the status in the headers, no message.
        private Task FailAsync(HttpContext context, string endpoint, GrpcStatus status, string message)
        {
            self.Rejected(endpoint, (int)status);
            var response = context.Response;
            response.ContentType = "application/grpc";
            response.Headers["grpc-status"] = ((int)status).ToString(System.Globalization.CultureInfo.InvariantCulture);
            response.Headers["grpc-message"] = Uri.EscapeDataString(message.Length > 512 ? message[..512] : message);
            return Task.CompletedTask;
        }
    }
}
