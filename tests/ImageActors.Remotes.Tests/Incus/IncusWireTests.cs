using System.Text.Json;
using System.Text.Json.Nodes;
using ImageActors.Remotes.Incus;

namespace ImageActors.Remotes.Tests.Incus;

public sealed class IncusWireTests
{
    [Fact]
    public void Sync_envelope_carries_every_key_with_Incus_values()
    {
        var json = JsonSerializer.Serialize(IncusResponse.Sync<IReadOnlyList<string>>(["/1.0/images/abc"]), IncusJsonContext.Default.IncusResponseIReadOnlyListString);
        Assert.Equal("""{"type":"sync","status":"Success","status_code":200,"operation":"","error_code":0,"error":"","metadata":["/1.0/images/abc"]}""", json);
    }

    [Fact]
    public void Error_envelope_carries_every_key_and_a_null_metadata()
    {
        var json = JsonSerializer.Serialize(IncusResponse.Error(404, "Image \"abc\" not found"), IncusJsonContext.Default.IncusResponseObject);
        Assert.Equal("""{"type":"error","status":"","status_code":0,"operation":"","error_code":404,"error":"Image \u0022abc\u0022 not found","metadata":null}""", json);
    }

    [Fact]
    public void Async_envelope_points_at_the_operation()
    {
        var operation = new Operation { Id = "7c2f", Description = "Downloading image", Metadata = new JsonObject { ["download_progress"] = "45% (12.34MB/s)" } };
        var node = JsonNode.Parse(JsonSerializer.Serialize(IncusResponse.Async(operation), IncusJsonContext.Default.IncusResponseOperation))!;
        Assert.Equal("async", (string?)node["type"]);
        Assert.Equal("Operation created", (string?)node["status"]);
        Assert.Equal(100, (int?)node["status_code"]);
        Assert.Equal("/1.0/operations/7c2f", (string?)node["operation"]);
        var metadata = node["metadata"]!.AsObject();
        Assert.Equal(
            ["id", "class", "description", "created_at", "updated_at", "status", "status_code", "resources", "metadata", "may_cancel", "err", "location"],
            metadata.Select(p => p.Key).ToArray());
        Assert.Equal("45% (12.34MB/s)", (string?)metadata["metadata"]!["download_progress"]);
    }

    [Fact]
    public void Untrusted_server_info_has_null_extensions_and_no_environment()
    {
        var json = JsonSerializer.Serialize(new ServerInfo { Public = true }, IncusJsonContext.Default.ServerInfo);
        Assert.Equal("""{"config":{},"api_extensions":null,"api_status":"stable","api_version":"1.0","auth":"untrusted","public":true,"auth_methods":["tls"]}""", json);
    }

    [Fact]
    public void Image_object_of_the_spec_round_trips_with_nanosecond_and_zero_timestamps()
    {
        const string spec = """
            {"fingerprint":"06b86454720d36b20f94e31c6812e05ec51c1b568cf3a8abd273769d213394bb",
             "filename":"image.tar.xz", "size":272237676, "architecture":"x86_64", "type":"container",
             "public":true, "cached":false, "auto_update":false,
             "aliases":[{"name":"debian/12","description":""}],
             "properties":{"os":"Debian","release":"bookworm","variant":"default","description":"Debian bookworm amd64"},
             "created_at":"2025-03-23T20:00:00Z", "expires_at":"0001-01-01T00:00:00Z",
             "last_used_at":"0001-01-01T00:00:00Z", "uploaded_at":"2025-03-24T14:18:15.115036787Z",
             "update_source":{"alias":"debian/12","certificate":"","protocol":"simplestreams",
                              "server":"https://images.linuxcontainers.org","image_type":"container"},
             "profiles":["default"], "project":"default", "locations":["server01"]}
            """;
        var image = JsonSerializer.Deserialize(spec, IncusJsonContext.Default.Image)!;
        Assert.Equal(272237676, image.Size);
        Assert.Equal(default, image.ExpiresAt);
        Assert.Equal("simplestreams", image.UpdateSource!.Protocol);

        var written = JsonNode.Parse(JsonSerializer.Serialize(image, IncusJsonContext.Default.Image))!;
        Assert.Equal("0001-01-01T00:00:00Z", (string?)written["expires_at"]);
        Assert.Equal("0001-01-01T00:00:00Z", (string?)written["last_used_at"]);
        Assert.Equal("2025-03-23T20:00:00Z", (string?)written["created_at"]);
        // .NET keeps 100 ns: the last two of Go's nine digits are dropped, the rest is exact.
        Assert.Equal("2025-03-24T14:18:15.1150367Z", (string?)written["uploaded_at"]);
        var expected = JsonNode.Parse(spec)!.AsObject();
        expected["uploaded_at"] = "2025-03-24T14:18:15.1150367Z";
        Assert.True(JsonNode.DeepEquals(expected, written), written.ToJsonString());
    }

    [Fact]
    public void Image_without_a_source_omits_update_source()
    {
        var node = JsonNode.Parse(JsonSerializer.Serialize(new Image { Fingerprint = "ab" }, IncusJsonContext.Default.Image))!.AsObject();
        Assert.False(node.ContainsKey("update_source"));
        Assert.True(node.ContainsKey("expires_at"));
        Assert.True(node.ContainsKey("cached"));
    }

    [Theory]
    [InlineData("2025-03-24T14:18:15Z", "2025-03-24T14:18:15Z")]
    [InlineData("2025-03-24T14:18:15.5Z", "2025-03-24T14:18:15.5Z")]
    [InlineData("2025-03-24T14:18:15.120000000Z", "2025-03-24T14:18:15.12Z")]
    [InlineData("2025-03-24T16:18:15.25+02:00", "2025-03-24T16:18:15.25+02:00")]
    [InlineData("1970-01-01T00:00:00Z", "1970-01-01T00:00:00Z")]
    public void Timestamps_are_written_as_Go_writes_RFC3339Nano(string input, string output) =>
        Assert.Equal(output, IncusTimestampConverter.Format(IncusTimestampConverter.Parse(input)));

    [Fact]
    public void Copy_request_of_the_incus_client_deserializes()
    {
        const string body = """
            {"source":{"type":"image","mode":"pull","server":"https://img.example:8443",
                       "protocol":"incus","certificate":"","fingerprint":"debian/12",
                       "project":"default","image_type":""},
             "aliases":[{"name":"deb12"}],"auto_update":true,"public":false,"profiles":null}
            """;
        var post = JsonSerializer.Deserialize(body, IncusJsonContext.Default.ImagesPost)!;
        Assert.Equal("debian/12", post.Source!.Fingerprint);
        Assert.Equal("pull", post.Source.Mode);
        Assert.Equal("deb12", post.Aliases![0].Name);
        Assert.True(post.AutoUpdate);
        Assert.Null(post.Profiles);
    }

    [Fact]
    public void Lifecycle_event_has_the_Incus_shape()
    {
        var lifecycle = new EventLifecycle { Action = LifecycleActions.ImageAliasCreated, Source = "/1.0/images/aliases/debian%2F12", Context = new JsonObject { ["target"] = "abc" } };
        var payload = JsonSerializer.SerializeToNode(lifecycle, IncusJsonContext.Default.EventLifecycle);
        var evt = new IncusEvent { Type = "lifecycle", Timestamp = new DateTimeOffset(2026, 1, 2, 3, 4, 5, TimeSpan.Zero), Metadata = payload };
        var node = JsonNode.Parse(JsonSerializer.Serialize(evt, IncusJsonContext.Default.IncusEvent))!;
        Assert.Equal("2026-01-02T03:04:05Z", (string?)node["timestamp"]);
        Assert.Equal("image-alias-created", (string?)node["metadata"]!["action"]);
        Assert.Equal("abc", (string?)node["metadata"]!["context"]!["target"]);
    }
}
