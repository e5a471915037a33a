using Amazon.S3;
using Amazon.S3.Model;

namespace BackupWorker.Tests.Repositories;

/// <summary>What a test does to S3 objects behind a repository's back.</summary>
internal static class S3Objects
{
    /// <summary>Flips one bit in the middle of an object, its metadata kept: damage no size check sees.</summary>
    public static async Task FlipByteAsync(IAmazonS3 s3, string bucket, string key)
    {
        using var response = await s3.GetObjectAsync(bucket, key);
        var bytes = new MemoryStream();
        await response.ResponseStream.CopyToAsync(bytes);
        var content = bytes.ToArray();
        content[content.Length / 2] ^= 0x10;
        var put = new PutObjectRequest { BucketName = bucket, Key = key, InputStream = new MemoryStream(content), UseChunkEncoding = false };
        foreach (var name in response.Metadata.Keys) put.Metadata[name] = response.Metadata[name];
        await s3.PutObjectAsync(put);
    }
}
