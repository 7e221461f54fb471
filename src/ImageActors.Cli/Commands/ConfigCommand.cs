using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Text.Json;
using ImageActors.Images.Configuration;
using Spectre.Console;
using YamlDotNet.Serialization;

namespace ImageActors.Cli.Commands;

/// <summary><c>imageactors config ...</c>: inspect the configuration.</summary>
public static class ConfigCommand
{
    /// <summary>Builds the <c>config</c> group.</summary>
    public static Command Create(GlobalOptions globals)
    {
        var config = new Command("config", "Inspect the configuration");
        config.Subcommands.Add(CreateShow(globals));
        return config;
    }

    private static Command CreateShow(GlobalOptions globals)
    {
        var format = new Option<string>("--format")
        {
            Description = "Output format",
            DefaultValueFactory = _ => "table",
        }.AcceptOnlyFromAmong("table", "json", "yaml");
        var prefix = new Argument<string?>("key")
        {
            Description = "Show only this key, or the keys under this prefix (e.g. images)",
            Arity = ArgumentArity.ZeroOrOne,
        };

        var show = new Command("show", "Show the effective configuration and where each value came from (file, env var, --set, or built-in default), then the akka.* settings given")
        {
            format,
            prefix,
        };
        show.SetAction((parseResult, cancellationToken) => globals.WithConfigurationAsync(parseResult, async configuration =>
        {
            var settings = Select(configuration.Effective(), parseResult.GetValue(prefix));
            var output = parseResult.InvocationConfiguration.Output;
            switch (parseResult.GetValue(format))
            {
                case "json":
                    await output.WriteLineAsync(ToJson(settings).AsMemory(), cancellationToken);
                    break;
                case "yaml":
                    await output.WriteAsync(ToYaml(settings).AsMemory(), cancellationToken);
                    break;
                default:
                    WriteTable(output, configuration.File, settings);
                    break;
            }

            return ExitCodes.Success;
        }));
        return show;
    }

    private static IReadOnlyList<ConfigSetting> Select(IReadOnlyList<ConfigSetting> settings, string? prefix) =>
        string.IsNullOrEmpty(prefix)
            ? settings
            : [.. settings.Where(s => s.Key.Path == prefix || s.Key.Path.StartsWith(prefix + ".", StringComparison.Ordinal))];

    /// <summary>
    /// <c>{ "images.replicas": { "value": 1, "origin": "akka.hocon" }, ... }</c>; integers and booleans
    /// as JSON numbers and booleans, lists as arrays, unset as null, everything else as written.
    /// </summary>
    internal static string ToJson(IReadOnlyList<ConfigSetting> settings)
    {
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer, new JsonWriterOptions { Indented = true }))
        {
            json.WriteStartObject();
            foreach (var setting in settings)
            {
                json.WriteStartObject(setting.Key.Path);
                json.WritePropertyName("value");
                switch (Typed(setting))
                {
                    case null: json.WriteNullValue(); break;
                    case long number: json.WriteNumberValue(number); break;
                    case bool flag: json.WriteBooleanValue(flag); break;
                    case IReadOnlyList<string> list:
                        json.WriteStartArray();
                        foreach (var item in list)
                        {
                            json.WriteStringValue(item);
                        }

                        json.WriteEndArray();
                        break;
                    case var text: json.WriteStringValue((string)text); break;
                }

                json.WriteString("origin", setting.Origin.ToString());
                json.WriteEndObject();
            }

            json.WriteEndObject();
        }

        return Encoding.UTF8.GetString(buffer.ToArray());
    }

    internal static string ToYaml(IReadOnlyList<ConfigSetting> settings)
    {
        var document = new Dictionary<string, Dictionary<string, object?>>(StringComparer.Ordinal);
        foreach (var setting in settings)
        {
            document[setting.Key.Path] = new Dictionary<string, object?>(StringComparer.Ordinal)
            {
                ["value"] = Typed(setting),
                ["origin"] = setting.Origin.ToString(),
            };
        }

        return new SerializerBuilder().Build().Serialize(document);
    }

    private static object? Typed(ConfigSetting setting) => setting.Key.Type switch
    {
        ConfigValueType.StringList => setting.List ?? [],
        _ when setting.Value is null => null,
        ConfigValueType.Integer when long.TryParse(setting.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var number) => number,
        ConfigValueType.Boolean when ValueSyntax.TryParseBoolean(setting.Value, out var flag) => flag,
        _ => setting.Value,
    };

    private static void WriteTable(TextWriter output, string file, IReadOnlyList<ConfigSetting> settings)
    {
        // Colours only on a terminal; in a pipe or a file the table is plain text and does not wrap at 80 columns.
        var terminal = output == Console.Out && !Console.IsOutputRedirected;
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Out = new AnsiConsoleOutput(output),
            Ansi = terminal ? AnsiSupport.Detect : AnsiSupport.No,
            ColorSystem = terminal ? ColorSystemSupport.Detect : ColorSystemSupport.NoColors,
        });
        if (!terminal)
        {
            console.Profile.Width = 240;
        }

        var table = new Table().Border(TableBorder.Simple);
        table.AddColumn("key");
        table.AddColumn("value");
        table.AddColumn("origin");
        foreach (var setting in settings)
        {
            var value = setting.List is { } list ? "[" + string.Join(", ", list) + "]" : setting.Value;
            table.AddRow(
                new Text(setting.Key.Path),
                value is null ? new Markup("[grey](unset)[/]") : new Text(value),
                new Text(setting.Origin.ToString(), new Style(setting.Origin.Kind == ConfigOriginKind.Default ? Color.Grey : Color.Default)));
        }

        console.MarkupLine($"[bold]configuration[/] {Markup.Escape(ConfigOrigin.InFile(file, 0).ToString())}");
        console.Write(table);
    }
}
