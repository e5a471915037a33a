using System.Text.Json;
using Google.Protobuf;
using Google.Rpc;
using Grpc.Core;

namespace Platform.Sidecar.Api;

/// <summary>
/// An error shaped the way daprd's kit error builder shapes it: one gRPC status (code + message) carrying one
/// google.rpc.ErrorInfo (domain dapr.io, reason, metadata), and its HTTP JSON rendering. Plain API errors
/// (ERR_MALFORMED_REQUEST, ...) have no details.
/// </summary>
public sealed class DaprError : Exception
{
    public const string DetailsTrailer = "grpc-status-details-bin";
    public const string ErrorInfoTypeUrl = "type.googleapis.com/google.rpc.ErrorInfo";

    public DaprError(StatusCode code, int httpStatus, string reason, string message, IReadOnlyDictionary<string, string>? metadata)
        : base(message)
    {
        Code = code;
        HttpStatus = httpStatus;
        Reason = reason;
        Metadata = metadata;
    }

    public StatusCode Code { get; }
    public int HttpStatus { get; }
    public string Reason { get; }
    /// <summary>Null for plain API errors that carry no ErrorInfo.</summary>
    public IReadOnlyDictionary<string, string>? Metadata { get; }

    public RpcException ToRpcException()
    {
        var status = new Grpc.Core.Status(Code, Message);
        var trailers = new Metadata();
        if (Metadata is not null)
        {
            var rpcStatus = new Google.Rpc.Status { Code = (int)Code, Message = Message };
            var info = new ErrorInfo { Domain = "dapr.io", Reason = Reason };
            foreach (var (k, v) in Metadata) info.Metadata[k] = v;
            rpcStatus.Details.Add(Google.Protobuf.WellKnownTypes.Any.Pack(info));
            trailers.Add(DetailsTrailer, rpcStatus.ToByteArray());
        }
        return new RpcException(status, trailers, Message);
    }

    /// <summary>daprd's JSON error body: errorCode, message, then details with alphabetical keys.</summary>
    public byte[] ToJson()
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            w.WriteStartObject();
            w.WriteString("errorCode", Reason);
            w.WriteString("message", Message);
            if (Metadata is not null)
            {
                w.WriteStartArray("details");
                w.WriteStartObject();
                w.WriteString("@type", ErrorInfoTypeUrl);
                w.WriteString("domain", "dapr.io");
                w.WriteStartObject("metadata");
                foreach (var (k, v) in Metadata.OrderBy(kv => kv.Key, StringComparer.Ordinal)) w.WriteString(k, v);
                w.WriteEndObject();
                w.WriteString("reason", Reason);
                w.WriteEndObject();
                w.WriteEndArray();
            }
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    public IResult ToHttpResult() => new JsonErrorResult(HttpStatus, ToJson());

    /// <summary>The HTTP status daprd gives a gRPC code (dapr/kit grpccodes).</summary>
    public static int HttpStatusFor(StatusCode code) => code switch
    {
        StatusCode.OK => 200,
        StatusCode.Cancelled => 408,
        StatusCode.Unknown => 500,
        StatusCode.InvalidArgument => 400,
        StatusCode.DeadlineExceeded => 504,
        StatusCode.NotFound => 404,
        StatusCode.AlreadyExists => 409,
        StatusCode.PermissionDenied => 403,
        StatusCode.Unauthenticated => 401,
        StatusCode.ResourceExhausted => 429,
        StatusCode.FailedPrecondition => 400,
        StatusCode.Aborted => 409,
        StatusCode.OutOfRange => 400,
        StatusCode.Unimplemented => 501,
        StatusCode.Internal => 500,
        StatusCode.Unavailable => 503,
        StatusCode.DataLoss => 500,
        _ => 500,
    };

    /// <summary>The gRPC code for an HTTP status (used when an invoked HTTP app answers over gRPC InvokeService).</summary>
    public static StatusCode GrpcCodeForHttp(int status) => status switch
    {
        >= 200 and < 300 => StatusCode.OK,
        400 => StatusCode.InvalidArgument,
        401 => StatusCode.Unauthenticated,
        403 => StatusCode.PermissionDenied,
        404 => StatusCode.NotFound,
        408 => StatusCode.DeadlineExceeded,
        409 => StatusCode.Aborted,
        429 => StatusCode.ResourceExhausted,
        501 => StatusCode.Unimplemented,
        503 => StatusCode.Unavailable,
        504 => StatusCode.DeadlineExceeded,
        _ => StatusCode.Unknown,
    };

    /// <summary>Go's name for a gRPC code, as it appears in "rpc error: code = X desc = ...".</summary>
    public static string GoCodeName(StatusCode code) => code == StatusCode.Cancelled ? "Canceled" : code.ToString();

    /// <summary>The text Go's grpc status error prints for a status a remote peer returned.</summary>
    public static string GoErrorString(RpcException ex)
    {
        var detail = ex.StatusCode switch
        {
            // The Go client reports its own expired deadline with the context's error text.
            StatusCode.DeadlineExceeded when ex.Status.Detail is "Deadline Exceeded" => "context deadline exceeded",
            _ => ex.Status.Detail,
        };
        return $"rpc error: code = {GoCodeName(ex.StatusCode)} desc = {detail}";
    }
}
