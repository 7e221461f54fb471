using ImageActors.Images.Domain;

namespace ImageActors.Images.Requirements;

/// <summary>
/// What an image's <c>requirements.*</c> properties are checked against: the host, and the
/// settings of the instance about to be started from the image.
/// </summary>
public sealed record HostProfile
{
    /// <summary>What the instance is (a container or a VM): some requirements apply to one kind only.</summary>
    public ImageType InstanceType { get; init; } = ImageType.Container;

    /// <summary>Whether the host offers a cgroup v1 hierarchy (Incus looks for <c>/sys/fs/cgroup/systemd</c>); false on pure cgroup v2 hosts.</summary>
    public bool CgroupV1 { get; init; }

    /// <summary>The VM's <c>security.secureboot</c>; null means unset, which Incus treats as on.</summary>
    public bool? SecureBoot { get; init; }

    /// <summary>The container's <c>security.privileged</c>.</summary>
    public bool Privileged { get; init; }

    /// <summary>The container's <c>security.nesting</c>.</summary>
    public bool Nesting { get; init; }

    /// <summary>Whether the VM has a disk device with <c>source=agent:config</c> (the agent CD-ROM).</summary>
    public bool AgentConfigDrive { get; init; }

    /// <summary>Whether the VM has a disk device with <c>source=cloud-init:config</c>.</summary>
    public bool CloudInitDrive { get; init; }

    /// <summary>Whether the VM has templates pending (<c>volatile.apply_template</c> set).</summary>
    public bool PendingTemplates { get; init; }
}

/// <summary>One <c>requirements.*</c> property the host or instance does not meet.</summary>
/// <param name="Key">The property, e.g. <c>requirements.cgroup</c>.</param>
/// <param name="Value">Its value in the image.</param>
/// <param name="Reason">What is wrong and what would fix it.</param>
public sealed record UnmetRequirement(string Key, string Value, string Reason);

/// <summary>Checks an image's <c>requirements.*</c> properties (spec §6) the way Incus does at instance start.</summary>
public static class RequirementsCheck
{
    /// <summary>The requirements of <paramref name="image"/> that <paramref name="host"/> does not meet; empty when it can start.</summary>
    public static IReadOnlyList<UnmetRequirement> Check(ImageRecord image, HostProfile host)
    {
        ArgumentNullException.ThrowIfNull(image);
        return Check(image.Properties, host);
    }

    /// <summary>The requirements among <paramref name="properties"/> that <paramref name="host"/> does not meet.</summary>
    public static IReadOnlyList<UnmetRequirement> Check(IReadOnlyDictionary<string, string> properties, HostProfile host)
    {
        ArgumentNullException.ThrowIfNull(properties);
        ArgumentNullException.ThrowIfNull(host);
        var unmet = new List<UnmetRequirement>();
        var vm = host.InstanceType == ImageType.VirtualMachine;

        if (Get(properties, "requirements.secureboot") is { } secureBoot && IsFalse(secureBoot) && vm && host.SecureBoot != false)
        {
            unmet.Add(new("requirements.secureboot", secureBoot,
                "The image doesn't support secure boot: set security.secureboot=false on the instance"));
        }

        if (Get(properties, "requirements.cgroup") is { } cgroup && cgroup == "v1" && !vm && !host.CgroupV1)
        {
            unmet.Add(new("requirements.cgroup", cgroup,
                "The image needs a host with cgroup v1 (no /sys/fs/cgroup/systemd on this host)"));
        }

        if (Get(properties, "requirements.privileged") is { } privileged && IsFalse(privileged) && !vm && host.Privileged)
        {
            unmet.Add(new("requirements.privileged", privileged,
                "The image can't run privileged: unset security.privileged on the instance"));
        }

        if (Get(properties, "requirements.nesting") is { } nesting && IsTrue(nesting) && !vm && !host.Nesting)
        {
            unmet.Add(new("requirements.nesting", nesting,
                "The image needs nesting: set security.nesting=true on the instance"));
        }

        if (Get(properties, "requirements.cdrom_agent") is { } agent && IsTrue(agent) && vm && !host.AgentConfigDrive)
        {
            unmet.Add(new("requirements.cdrom_agent", agent,
                "The image needs the agent drive: add a disk device with source=agent:config"));
        }

        if (Get(properties, "requirements.cdrom_cloud_init") is { } cloudInit && IsTrue(cloudInit) && vm && host.PendingTemplates && !host.CloudInitDrive)
        {
            unmet.Add(new("requirements.cdrom_cloud_init", cloudInit,
                "The image needs the cloud-init drive: add a disk device with source=cloud-init:config"));
        }

        return unmet;
    }

    private static string? Get(IReadOnlyDictionary<string, string> properties, string key) =>
        properties.TryGetValue(key, out var value) ? value : null;

    // Incus' shared.IsTrue / IsFalse spellings.
    private static bool IsTrue(string value) => value.ToLowerInvariant() is "true" or "1" or "yes" or "on";

    private static bool IsFalse(string value) => value.ToLowerInvariant() is "false" or "0" or "no" or "off";
}
