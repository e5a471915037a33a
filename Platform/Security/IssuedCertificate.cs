namespace Platform.Security;

/// <summary>A certificate and its key, PEM encoded, as handed to a process.</summary>
public sealed record IssuedCertificate(string CertificatePem, string KeyPem);
