using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Platform.Sidecar.Api;

namespace Platform.Sidecar.AppChannel;

/// <summary>The client side of <c>dapr.proto.runtime.v1.AppCallbackHealthCheck/HealthCheck</c> (Empty in, an empty message out).</summary>
internal static class AppHealthCheckMethod
{
    public static readonly Method<Empty, Empty> HealthCheck = new(MethodType.Unary,
        "dapr.proto.runtime.v1.AppCallbackHealthCheck", "HealthCheck", ProtoMarshaller<Empty>.Instance, ProtoMarshaller<Empty>.Instance);
}
