using Google.Protobuf;
using Grpc.Core;

namespace Platform.Sidecar.Api;

/// <summary>Protobuf marshaller for a generated message type.</summary>
public static class ProtoMarshaller<T> where T : class, IMessage<T>, new()
{
    private static readonly MessageParser<T> Parser = new(() => new T());
    public static readonly Marshaller<T> Instance = Marshallers.Create(m => m.ToByteArray(), Parser.ParseFrom);
}
