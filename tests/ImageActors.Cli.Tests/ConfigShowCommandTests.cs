using System.Text.Json;

namespace ImageActors.Cli.Tests;

public sealed class ConfigShowCommandTests : IDisposable
{
    private static readonly string AkkaHocon = Repository.File("akka.hocon");
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("imageactors-cli-");

    public void Dispose() => _directory.Delete(recursive: true);

    private string WriteOverlay(string text)
    {
        var path = Path.Combine(_directory.FullName, "overlay.hocon");
        var escaped = AkkaHocon.Replace("\\", "\\\\", StringComparison.Ordinal);
        File.WriteAllText(path, $"include \"{escaped}\"\n{text}");
        return path;
    }

    private static JsonElement Setting(CliRun run, string key)
    {
        Assert.Equal(ExitCodes.Success, run.ExitCode);
        using var json = JsonDocument.Parse(run.Output);
        return json.RootElement.GetProperty(key).Clone();
    }

    [Fact]
    public async Task Config_show_as_json_shows_each_value_with_the_file_it_came_from()
    {
        var run = await CliRun.InvokeAsync("config", "show", "--format", "json", "--config", AkkaHocon);

        var expiry = Setting(run, "images.remote_cache_expiry");
        Assert.Equal("10d", expiry.GetProperty("value").GetString());
        var origin = expiry.GetProperty("origin").GetString()!;
        Assert.EndsWith("akka.hocon", origin, StringComparison.Ordinal);
        Assert.Equal(1, Setting(run, "images.replicas").GetProperty("value").GetInt32());
        Assert.True(Setting(run, "images.auto_update_cached").GetProperty("value").GetBoolean());
        Assert.Equal(JsonValueKind.Null, Setting(run, "images.cache_max_size").GetProperty("value").ValueKind);
    }

    [Fact]
    public async Task Overlay_values_name_the_overlay_and_the_rest_name_akka_hocon()
    {
        var run = await CliRun.InvokeAsync("config", "show", "--format", "json", "--config", Repository.File("config/appliance.hocon"));

        var cacheSize = Setting(run, "images.cache_max_size");
        Assert.Equal("200GiB", cacheSize.GetProperty("value").GetString());
        Assert.EndsWith("config/appliance.hocon", cacheSize.GetProperty("origin").GetString(), StringComparison.Ordinal);
        Assert.EndsWith("akka.hocon", Setting(run, "images.replicas").GetProperty("origin").GetString(), StringComparison.Ordinal);
        Assert.DoesNotContain("appliance", Setting(run, "images.replicas").GetProperty("origin").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Set_overrides_and_environment_variables_are_shown_as_the_origin()
    {
        var environment = new Dictionary<string, string> { ["IMAGEACTORS_DATA"] = "/srv/from-env" };

        var run = await CliRun.InvokeAsync(environment, "--set", "images.replicas=3", "config", "show", "--format", "json", "--config", AkkaHocon, "--set", "images.default_architecture=arm64");

        Assert.Equal(3, Setting(run, "images.replicas").GetProperty("value").GetInt32());
        Assert.Equal("--set", Setting(run, "images.replicas").GetProperty("origin").GetString());
        Assert.Equal("arm64", Setting(run, "images.default_architecture").GetProperty("value").GetString());
        Assert.Equal("/srv/from-env", Setting(run, "data_dir").GetProperty("value").GetString());
        Assert.Equal("env IMAGEACTORS_DATA", Setting(run, "data_dir").GetProperty("origin").GetString());
        Assert.Equal("/srv/from-env/journal.db", Setting(run, "persistence.sqlite.path").GetProperty("value").GetString());
    }

    [Fact]
    public async Task The_data_option_moves_every_path_under_the_data_directory_and_beats_the_environment()
    {
        var environment = new Dictionary<string, string> { ["IMAGEACTORS_DATA"] = "/srv/from-env" };

        var run = await CliRun.InvokeAsync(environment, "--data", "/srv/from option", "config", "show", "--format", "json", "--config", AkkaHocon);

        Assert.Equal("--data", Setting(run, "data_dir").GetProperty("origin").GetString());
        Assert.Equal("/srv/from option/journal.db", Setting(run, "persistence.sqlite.path").GetProperty("value").GetString());
        Assert.Equal("/srv/from option/unix.socket", Setting(run, "server.unix_socket").GetProperty("value").GetString());
        Assert.Equal("/srv/from option/server.crt", Setting(run, "server.certificate").GetProperty("value").GetString());
    }

    [Fact]
    public async Task IMAGEACTORS_CONFIG_selects_the_file_when_no_config_option_is_given()
    {
        var environment = new Dictionary<string, string> { ["IMAGEACTORS_CONFIG"] = Repository.File("config/cluster.hocon") };

        var run = await CliRun.InvokeAsync(environment, "config", "show", "--format", "json");

        Assert.Equal("postgresql", Setting(run, "persistence.plugin").GetProperty("value").GetString());
    }

    [Fact]
    public async Task A_misspelt_key_exits_non_zero_with_one_line_naming_the_key_file_and_nearest_key()
    {
        var overlay = WriteOverlay("images {\n  remote_cache_expiri = 3d\n}\n");

        var run = await CliRun.InvokeAsync("config", "show", "--format", "json", "--config", overlay);

        Assert.Equal(ExitCodes.InvalidConfiguration, run.ExitCode);
        Assert.Empty(run.Output);
        Assert.Equal($"error: images.remote_cache_expiri ({Path.Combine(_directory.FullName, "overlay.hocon")}): unknown key; did you mean images.remote_cache_expiry?", run.Error.TrimEnd());
    }

    [Fact]
    public async Task A_misspelt_set_key_exits_non_zero_with_the_suggestion()
    {
        var run = await CliRun.InvokeAsync("config", "show", "--config", AkkaHocon, "--set", "image.replicas=2");

        Assert.Equal(ExitCodes.InvalidConfiguration, run.ExitCode);
        Assert.Contains("image.replicas (--set): unknown key; did you mean images.replicas?", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_bad_value_exits_non_zero_naming_the_key_and_file()
    {
        var overlay = WriteOverlay("images.default_architecture = sparc\n");

        var run = await CliRun.InvokeAsync("config", "show", "--config", overlay);

        Assert.Equal(ExitCodes.InvalidConfiguration, run.ExitCode);
        Assert.Contains("images.default_architecture (", run.Error, StringComparison.Ordinal);
        Assert.Contains("overlay.hocon): 'sparc' is not an architecture Incus knows (e.g. x86_64, aarch64)", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_syntax_error_Akkas_parser_reports_exits_non_zero_naming_the_file_and_its_line()
    {
        var overlay = WriteOverlay("images {\n  replicas = 2\n  ,\n}\n");

        var run = await CliRun.InvokeAsync("config", "show", "--config", overlay);

        Assert.Equal(ExitCodes.InvalidConfiguration, run.ExitCode);
        Assert.Contains("overlay.hocon:4: syntax error", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_overlay_written_for_the_former_reader_gets_one_line_saying_what_to_write_instead()
    {
        var path = Path.Combine(_directory.FullName, "old.hocon");
        File.WriteAllText(path, $"include required(\"{AkkaHocon}\")\nimages.replicas = 2\n");

        var run = await CliRun.InvokeAsync("config", "show", "--config", path);

        Assert.Equal(ExitCodes.InvalidConfiguration, run.ExitCode);
        Assert.Equal($"error: {path}:1: include required(...) is not read by Akka's HOCON parser; write include \"path\" (a path relative to this file)", run.Error.TrimEnd());
    }

    [Fact]
    public async Task Akka_settings_from_set_are_shown_with_their_origin_and_not_rejected()
    {
        var run = await CliRun.InvokeAsync("config", "show", "akka", "--format", "json", "--config", AkkaHocon, "--set", "akka.loglevel=DEBUG");

        var loglevel = Setting(run, "akka.loglevel");
        Assert.Equal("DEBUG", loglevel.GetProperty("value").GetString());
        Assert.Equal("--set", loglevel.GetProperty("origin").GetString());
    }

    [Fact]
    public async Task A_missing_configuration_file_exits_non_zero()
    {
        var run = await CliRun.InvokeAsync("config", "show", "--config", Path.Combine(_directory.FullName, "absent.hocon"));

        Assert.Equal(ExitCodes.InvalidConfiguration, run.ExitCode);
        Assert.Contains("absent.hocon", run.Error, StringComparison.Ordinal);
        Assert.Contains("not found", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_set_without_an_equals_sign_is_rejected()
    {
        var run = await CliRun.InvokeAsync("config", "show", "--config", AkkaHocon, "--set", "images.replicas");

        Assert.Equal(ExitCodes.InvalidConfiguration, run.ExitCode);
        Assert.Contains("'images.replicas' is not KEY=VALUE", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_table_lists_each_key_with_its_value_and_origin()
    {
        var run = await CliRun.InvokeAsync("config", "show", "--config", AkkaHocon, "--set", "images.replicas=4");

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        var row = run.Output.Split('\n').Single(l => l.Contains("images.replicas", StringComparison.Ordinal));
        Assert.Matches(@"images\.replicas\s+4\s+--set", row);
        var expiry = run.Output.Split('\n').Single(l => l.Contains("images.remote_cache_expiry", StringComparison.Ordinal));
        Assert.Matches(@"images\.remote_cache_expiry\s+10d\s+\S*akka\.hocon\s*$", expiry);
        Assert.DoesNotContain("\u001b[", run.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Yaml_output_holds_values_and_origins()
    {
        var run = await CliRun.InvokeAsync("config", "show", "images.replicas", "--format", "yaml", "--config", AkkaHocon);

        Assert.Equal(ExitCodes.Success, run.ExitCode);
        var lines = run.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.Equal("images.replicas:", lines[0]);
        Assert.Equal("  value: 1", lines[1]);
        Assert.StartsWith("  origin: ", lines[2], StringComparison.Ordinal);
        Assert.Equal(3, lines.Length);
    }

    [Fact]
    public async Task A_key_prefix_limits_the_output_to_that_section()
    {
        var run = await CliRun.InvokeAsync("config", "show", "server", "--format", "json", "--config", AkkaHocon);

        using var json = JsonDocument.Parse(run.Output);
        var keys = json.RootElement.EnumerateObject().Select(p => p.Name).ToList();
        Assert.NotEmpty(keys);
        Assert.All(keys, k => Assert.StartsWith("server.", k, StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_unknown_format_is_a_usage_error()
    {
        var run = await CliRun.InvokeAsync("config", "show", "--format", "xml", "--config", AkkaHocon);

        Assert.NotEqual(ExitCodes.Success, run.ExitCode);
        Assert.Contains("xml", run.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_password_in_the_connection_string_is_not_shown()
    {
        var run = await CliRun.InvokeAsync(
            "config", "show", "--format", "json", "--config", AkkaHocon,
            "--set", "persistence.postgresql.connection_string=Host=db;Username=ia;Password=s3cret;Database=images");

        Assert.Equal(
            "Host=db;Username=ia;Password=***;Database=images",
            Setting(run, "persistence.postgresql.connection_string").GetProperty("value").GetString());
        Assert.DoesNotContain("s3cret", run.Output, StringComparison.Ordinal);
    }
}
