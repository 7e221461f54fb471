using System.Globalization;
using System.Text;
using Akka.Hosting;
using ImageActors.Images.Configuration;
using Microsoft.Extensions.Configuration;

namespace ImageActors.Images.Hosting;

/// <summary>
/// How a host configures the embedded store: the same keys, value syntax and validation as <c>akka.hocon</c>
/// (<c>data_dir</c>, <c>images.remote_cache_expiry = 10d</c>, <c>actors.ask_timeout</c>, <c>persistence.*</c>,
/// <c>akka { }</c>), read from a section of the host's <see cref="IConfiguration"/> and from <see cref="Set"/>.
/// Unknown keys and bad values stop the host's start with one line each, naming the key, where it was set and the
/// nearest known key.
/// </summary>
public sealed class ImageActorsBuilder
{
    /// <summary>Every key the embedded store reads.</summary>
    public static ConfigurationSchema Schema { get; } = new(NodeOptions.Section, ActorSystemOptions.Section, PersistenceOptions.Section, ImagesOptions.Section);

    private readonly List<Func<IServiceProvider, IEnumerable<(string Path, string Value, string Origin)>>> _sources = [];
    private readonly List<Action<AkkaConfigurationBuilder, IServiceProvider>> _akka = [];

    /// <summary>
    /// Reads the section <paramref name="sectionPath"/> of the host's configuration (<c>appsettings.json</c>, environment
    /// variables such as <c>ImageActors__images__remote_cache_expiry</c>, …): its keys are the keys of <c>akka.hocon</c>,
    /// nested (<c>"images": { "remote_cache_expiry": "10d" }</c>) or dotted, and a list is a JSON array.
    /// </summary>
    public ImageActorsBuilder BindConfiguration(string sectionPath = "ImageActors")
    {
        ArgumentException.ThrowIfNullOrEmpty(sectionPath);
        _sources.Add(services =>
        {
            var configuration = services.GetService(typeof(IConfiguration)) as IConfiguration
                ?? throw new InvalidOperationException("BindConfiguration reads the host's IConfiguration, and none is registered; use a generic host or register one.");
            var origin = "configuration section " + sectionPath;
            return Flatten(configuration.GetSection(sectionPath), null).Select(e => (e.Path, e.Value, origin));
        });
        return this;
    }

    /// <summary>Sets one key, as <c>--set KEY=VALUE</c> does (applied after what was added before).</summary>
    public ImageActorsBuilder Set(string key, string value)
    {
        ArgumentException.ThrowIfNullOrEmpty(key);
        ArgumentNullException.ThrowIfNull(value);
        _sources.Add(_ => [(key, value, "ImageActorsBuilder.Set")]);
        return this;
    }

    /// <summary>
    /// Adds the host's own actors, settings or plugins to the store's actor system (Akka.Hosting's builder, after the
    /// store's configuration, so what it sets wins): <c>b.ConfigureAkka((akka, sp) =&gt; akka.WithActors(...))</c>.
    /// </summary>
    public ImageActorsBuilder ConfigureAkka(Action<AkkaConfigurationBuilder, IServiceProvider> configure)
    {
        ArgumentNullException.ThrowIfNull(configure);
        _akka.Add(configure);
        return this;
    }

    /// <summary>What <see cref="ConfigureAkka"/> added, in order; null when nothing.</summary>
    internal Action<AkkaConfigurationBuilder, IServiceProvider>? AkkaConfiguration => _akka.Count == 0 ? null : (akka, services) =>
    {
        foreach (var configure in _akka)
        {
            configure(akka, services);
        }
    };

    /// <summary>Reads, validates and binds every source, in the order they were added.</summary>
    /// <exception cref="ConfigurationException">A key is unknown or a value is bad; every problem is listed.</exception>
    internal EmbeddedConfiguration Build(IServiceProvider services)
    {
        var builder = new HoconConfigBuilder().AddText(string.Empty, "built-in defaults");
        foreach (var source in _sources)
        {
            foreach (var (path, value, origin) in source(services))
            {
                builder.AddOverride(path, value, origin);
            }
        }

        var config = builder.Build();
        Schema.Validate(config);
        return new EmbeddedConfiguration(
            NodeOptions.Bind(config),
            ActorSystemOptions.Bind(config),
            PersistenceOptions.Bind(config),
            ImagesOptions.Bind(config),
            config.ToHocon(ConfigurationSchema.AkkaSection));
    }

    // A section's values by dotted key path; a section whose children are numbered 0, 1, … is a list.
    private static IEnumerable<(string Path, string Value)> Flatten(IConfigurationSection section, string? prefix)
    {
        foreach (var child in section.GetChildren())
        {
            var path = prefix is null ? child.Key : prefix + "." + child.Key;
            var children = child.GetChildren().ToList();
            if (children.Count == 0)
            {
                if (child.Value is not null)
                {
                    yield return (path, child.Value);
                }
            }
            else if (IsList(children))
            {
                yield return (path, "[" + string.Join(", ", children.OrderBy(c => int.Parse(c.Key, CultureInfo.InvariantCulture)).Select(ListItem)) + "]");
            }
            else
            {
                foreach (var entry in Flatten(child, path))
                {
                    yield return entry;
                }
            }
        }
    }

    private static bool IsList(List<IConfigurationSection> children) =>
        children.All(c => int.TryParse(c.Key, NumberStyles.None, CultureInfo.InvariantCulture, out _));

    // An item is a string, or an object of strings (an upstream's { url, protocol, certificate }).
    private static string ListItem(IConfigurationSection item)
    {
        var fields = item.GetChildren().ToList();
        if (fields.Count == 0)
        {
            return HoconConfigBuilder.Quote(item.Value ?? string.Empty);
        }

        var text = new StringBuilder("{ ");
        foreach (var field in fields)
        {
            text.Append(field.Key).Append(" = ").Append(HoconConfigBuilder.Quote(field.Value ?? string.Empty)).Append(", ");
        }

        return text.Append('}').ToString();
    }
}

/// <summary>What the embedded store was configured with.</summary>
internal sealed record EmbeddedConfiguration(NodeOptions Node, ActorSystemOptions Actors, PersistenceOptions Persistence, ImagesOptions Images, string? AkkaHocon)
{
    /// <summary>The store's settings, as <c>imageactors serve</c> makes them from the same keys.</summary>
    public ImageStoreSettings ToSettings(IImageUpdateSource updateSource, Microsoft.Extensions.Logging.ILoggerFactory? loggerFactory) =>
        ImageStoreSettings.FromOptions(Node.DataDirectory, Persistence, Images, Actors, AkkaHocon) with
        {
            UpdateSource = updateSource,
            LoggerFactory = loggerFactory,
        };
}
