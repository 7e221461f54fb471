namespace ImageActors.Images.Configuration;

/// <summary>The keys one layer reads (e.g. <c>images.*</c>, read by <c>ImagesOptions</c>).</summary>
/// <param name="Name">The section's name as shown to users (<c>images</c>, or <c>(root)</c>).</param>
/// <param name="Keys">Its keys, each with its full path.</param>
public sealed record ConfigSection(string Name, IReadOnlyList<ConfigKey> Keys);
