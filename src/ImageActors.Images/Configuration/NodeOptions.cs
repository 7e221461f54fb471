namespace ImageActors.Images.Configuration;

/// <summary>Settings of this process as a whole: where it keeps its data.</summary>
public sealed record NodeOptions
{
    /// <summary>The keys this class reads.</summary>
    public static class Keys
    {
        /// <summary><c>data_dir</c>: the directory for images, the journal, the certificate and the socket.</summary>
        public static ConfigKey DataDirectory { get; } = ConfigKey.Text(
            "data_dir", "./data", "directory holding images, the SQLite journal, the server certificate and the unix socket", environmentVariable: "IMAGEACTORS_DATA");
    }

    /// <summary>The schema section of these keys (root-level keys).</summary>
    public static ConfigSection Section { get; } = new("(root)", [Keys.DataDirectory]);

    /// <summary>The data directory, as configured (relative paths are relative to the current directory).</summary>
    public string DataDirectory { get; init; } = "./data";

    /// <summary>Reads and checks the keys; absent keys take their defaults.</summary>
    /// <exception cref="ConfigurationException">A value is invalid.</exception>
    public static NodeOptions Bind(HoconConfig config) => new()
    {
        DataDirectory = config.GetString(Keys.DataDirectory)!,
    };
}
