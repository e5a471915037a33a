using System.Security.Cryptography;
using BackupWorker.Backups;

namespace BackupWorker.Tests;

public class BackupPayloadTests
{
    [Fact]
    public void Payload_is_exactly_the_how_to_json()
    {
        var json = System.Text.Encoding.UTF8.GetString(BackupPayload.ForDatabase("my-prod-db", "/backup-dir").ToUtf8Json());
        Assert.Equal("{\"task\":\"db-backup\",\"metadata\":{\"DBName\":\"my-prod-db\",\"BackupLocation\":\"/backup-dir\"}}", json);
    }

    [Theory]
    [InlineData("{\"task\":\"db-backup\",\"metadata\":{\"DBName\":\"a\",\"BackupLocation\":\"b\"}}", true)]
    [InlineData("\"{\\\"task\\\":\\\"db-backup\\\",\\\"metadata\\\":{\\\"DBName\\\":\\\"a\\\",\\\"BackupLocation\\\":\\\"b\\\"}}\"", true)]
    [InlineData("{\"task\":\"other\",\"metadata\":{\"DBName\":\"a\",\"BackupLocation\":\"b\"}}", false)]
    [InlineData("{\"task\":\"db-backup\"}", false)]
    [InlineData("not json", false)]
    [InlineData("", false)]
    public void Payload_parsing(string text, bool ok)
    {
        Assert.Equal(ok, BackupPayload.TryParse(System.Text.Encoding.UTF8.GetBytes(text), out var payload, out var error));
        if (ok) Assert.Equal(new BackupMetadata("a", "b"), payload!.Metadata);
        else Assert.NotEmpty(error);
    }
}
