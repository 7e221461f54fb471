using YamlDotNet.Serialization;
using YamlDotNet.Serialization.NamingConventions;

namespace ImageActors.Cli.Commands;

/// <summary>One image server the CLI knows by name.</summary>
/// <param name="Name">The name used in <c>&lt;remote&gt;:&lt;image&gt;</c>.</param>
/// <param name="Url">The server's address; empty for <c>local</c>.</param>
/// <param name="Protocol"><c>imageactors</c>, <c>incus</c>, <c>lxd</c> or <c>simplestreams</c>.</param>
/// <param name="Public">Whether the server is used without a client certificate.</param>
/// <param name="Certificate">PEM of the server certificate to pin; empty to trust the system roots.</param>
public sealed record Remote(string Name, string Url, string Protocol, bool Public, string Certificate);

/// <summary>
/// The remotes in <c>&lt;data&gt;/remotes.yml</c>, with Incus' defaults (<c>local</c>, this store, and
/// <c>images</c>, images.linuxcontainers.org) when the file does not exist yet.
/// </summary>
public sealed class RemoteList
{
    /// <summary>The name of this store; always present and never removed.</summary>
    public const string Local = "local";

    /// <summary>The protocols a remote may speak.</summary>
    public static readonly IReadOnlyList<string> Protocols = ["imageactors", "incus", "lxd", "simplestreams"];

    private readonly string _path;
    private readonly SortedDictionary<string, Remote> _remotes;

    private RemoteList(string path, string defaultRemote, SortedDictionary<string, Remote> remotes)
    {
        _path = path;
        DefaultRemote = defaultRemote;
        _remotes = remotes;
    }

    /// <summary>The remote used when a command names none.</summary>
    public string DefaultRemote { get; private set; }

    /// <summary>All remotes, ordered by name.</summary>
    public IReadOnlyCollection<Remote> All => _remotes.Values;

    /// <summary>Reads the remotes of <paramref name="dataDirectory"/>, or the defaults if it has none yet.</summary>
    /// <exception cref="CommandException">The file is malformed.</exception>
    public static RemoteList Load(string dataDirectory)
    {
        var path = Path.Combine(Path.GetFullPath(dataDirectory), "remotes.yml");
        var remotes = new SortedDictionary<string, Remote>(StringComparer.Ordinal)
        {
            [Local] = new(Local, string.Empty, "imageactors", false, string.Empty),
        };
        if (!File.Exists(path))
        {
            remotes["images"] = new("images", "https://images.linuxcontainers.org", "simplestreams", true, string.Empty);
            return new RemoteList(path, Local, remotes);
        }

        RemotesDocument document;
        try
        {
            document = new DeserializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance).IgnoreUnmatchedProperties().Build()
                .Deserialize<RemotesDocument?>(File.ReadAllText(path)) ?? new RemotesDocument();
        }
        catch (YamlDotNet.Core.YamlException e)
        {
            throw new CommandException($"{path}: {e.Message}");
        }

        foreach (var (name, entry) in document.Remotes ?? [])
        {
            if (name != Local)
            {
                remotes[name] = new(name, entry.Addr ?? string.Empty, entry.Protocol ?? "incus", entry.Public, entry.Certificate ?? string.Empty);
            }
        }

        var defaultRemote = document.DefaultRemote is { } d && remotes.ContainsKey(d) ? d : Local;
        return new RemoteList(path, defaultRemote, remotes);
    }

    /// <summary>The remote called <paramref name="name"/>, if there is one.</summary>
    public Remote? Find(string name) => _remotes.GetValueOrDefault(name);

    /// <summary>The remote called <paramref name="name"/>.</summary>
    /// <exception cref="CommandException">There is none.</exception>
    public Remote Get(string name) =>
        Find(name) ?? throw new CommandException($"Remote \"{name}\" not found (see imageactors remote list)");

    /// <summary>Adds a remote after checking its name, URL and protocol.</summary>
    /// <exception cref="CommandException">The name is taken or malformed, the URL is not http(s), or the protocol is unknown.</exception>
    public void Add(Remote remote)
    {
        ArgumentNullException.ThrowIfNull(remote);
        CheckName(remote.Name);
        if (_remotes.ContainsKey(remote.Name))
        {
            throw new CommandException($"Remote \"{remote.Name}\" already exists");
        }

        if (!Uri.TryCreate(remote.Url, UriKind.Absolute, out var url) || (url.Scheme != Uri.UriSchemeHttps && url.Scheme != Uri.UriSchemeHttp))
        {
            throw new CommandException($"\"{remote.Url}\" is not an http:// or https:// URL");
        }

        if (!Protocols.Contains(remote.Protocol))
        {
            throw new CommandException($"Unknown protocol \"{remote.Protocol}\" (expected one of {string.Join(", ", Protocols)})");
        }

        _remotes[remote.Name] = remote;
    }

    /// <summary>Removes a remote; removing the default one makes <c>local</c> the default.</summary>
    /// <exception cref="CommandException">It is <c>local</c> or does not exist.</exception>
    public void Remove(string name)
    {
        if (name == Local)
        {
            throw new CommandException("Remote \"local\" is this store and cannot be removed");
        }

        _remotes.Remove(Get(name).Name);
        if (DefaultRemote == name)
        {
            DefaultRemote = Local;
        }
    }

    /// <summary>Renames a remote, keeping it the default if it was.</summary>
    /// <exception cref="CommandException">It is <c>local</c>, does not exist, or the new name is taken.</exception>
    public void Rename(string name, string newName)
    {
        if (name == Local)
        {
            throw new CommandException("Remote \"local\" is this store and cannot be renamed");
        }

        var remote = Get(name);
        CheckName(newName);
        if (_remotes.ContainsKey(newName))
        {
            throw new CommandException($"Remote \"{newName}\" already exists");
        }

        _remotes.Remove(name);
        _remotes[newName] = remote with { Name = newName };
        if (DefaultRemote == name)
        {
            DefaultRemote = newName;
        }
    }

    /// <summary>Makes <paramref name="name"/> the default remote.</summary>
    /// <exception cref="CommandException">It does not exist.</exception>
    public void SetDefault(string name) => DefaultRemote = Get(name).Name;

    /// <summary>Writes the list to <c>&lt;data&gt;/remotes.yml</c> (through a temporary file, so a crash leaves the old one).</summary>
    public void Save()
    {
        var document = new RemotesDocument
        {
            DefaultRemote = DefaultRemote,
            Remotes = _remotes.Values.Where(r => r.Name != Local).ToDictionary(
                r => r.Name,
                r => new RemoteEntry { Addr = r.Url, Protocol = r.Protocol, Public = r.Public, Certificate = string.IsNullOrEmpty(r.Certificate) ? null : r.Certificate },
                StringComparer.Ordinal),
        };
        var yaml = new SerializerBuilder().WithNamingConvention(UnderscoredNamingConvention.Instance)
            .ConfigureDefaultValuesHandling(DefaultValuesHandling.OmitNull).Build().Serialize(document);
        Directory.CreateDirectory(Path.GetDirectoryName(_path)!);
        var temporary = _path + ".tmp";
        File.WriteAllText(temporary, yaml);
        File.Move(temporary, _path, overwrite: true);
    }

    private static void CheckName(string name)
    {
        if (name.Length == 0 || name.Contains(':', StringComparison.Ordinal) || name.Contains('/', StringComparison.Ordinal) || name.Any(char.IsWhiteSpace))
        {
            throw new CommandException($"Invalid remote name \"{name}\" (no colons, slashes or spaces)");
        }
    }

    private sealed class RemotesDocument
    {
        public string? DefaultRemote { get; set; }

        public Dictionary<string, RemoteEntry>? Remotes { get; set; }
    }

    private sealed class RemoteEntry
    {
        public string? Addr { get; set; }

        public string? Protocol { get; set; }

        public bool Public { get; set; }

        public string? Certificate { get; set; }
    }
}
