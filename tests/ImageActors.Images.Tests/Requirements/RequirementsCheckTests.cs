using ImageActors.Images.Domain;
using ImageActors.Images.Requirements;

namespace ImageActors.Images.Tests.Requirements;

public sealed class RequirementsCheckTests
{
    private static ImageRecord With(params (string, string)[] properties) => Images.Record(Images.Fp("ab"), properties: properties);

    [Fact]
    public void An_image_without_requirements_starts_anywhere() =>
        Assert.Empty(RequirementsCheck.Check(With(("os", "Debian")), new HostProfile()));

    [Fact]
    public void A_cgroup_v1_image_is_refused_on_a_cgroup_v2_host()
    {
        var unmet = Assert.Single(RequirementsCheck.Check(With(("requirements.cgroup", "v1")), new HostProfile { CgroupV1 = false }));
        Assert.Equal("requirements.cgroup", unmet.Key);
        Assert.Contains("cgroup v1", unmet.Reason, StringComparison.Ordinal);
        Assert.Empty(RequirementsCheck.Check(With(("requirements.cgroup", "v1")), new HostProfile { CgroupV1 = true }));
    }

    [Fact]
    public void Secure_boot_left_unset_counts_as_on_for_a_VM()
    {
        var image = With(("requirements.secureboot", "false"));
        var vm = new HostProfile { InstanceType = ImageType.VirtualMachine };
        Assert.Contains("security.secureboot=false", Assert.Single(RequirementsCheck.Check(image, vm)).Reason, StringComparison.Ordinal);
        Assert.Single(RequirementsCheck.Check(image, vm with { SecureBoot = true }));
        Assert.Empty(RequirementsCheck.Check(image, vm with { SecureBoot = false }));
        Assert.Empty(RequirementsCheck.Check(image, new HostProfile { InstanceType = ImageType.Container }));
    }

    [Fact]
    public void Privileged_and_nesting_requirements_apply_to_containers()
    {
        Assert.Single(RequirementsCheck.Check(With(("requirements.privileged", "false")), new HostProfile { Privileged = true }));
        Assert.Empty(RequirementsCheck.Check(With(("requirements.privileged", "false")), new HostProfile { Privileged = false }));
        Assert.Single(RequirementsCheck.Check(With(("requirements.nesting", "true")), new HostProfile { Nesting = false }));
        Assert.Empty(RequirementsCheck.Check(With(("requirements.nesting", "true")), new HostProfile { Nesting = true }));
    }

    [Fact]
    public void Agent_and_cloud_init_drives_are_required_of_VMs()
    {
        var vm = new HostProfile { InstanceType = ImageType.VirtualMachine, SecureBoot = false };
        Assert.Equal("requirements.cdrom_agent", Assert.Single(RequirementsCheck.Check(With(("requirements.cdrom_agent", "true")), vm)).Key);
        Assert.Empty(RequirementsCheck.Check(With(("requirements.cdrom_agent", "true")), vm with { AgentConfigDrive = true }));

        var cloudInit = With(("requirements.cdrom_cloud_init", "true"));
        Assert.Empty(RequirementsCheck.Check(cloudInit, vm));
        Assert.Single(RequirementsCheck.Check(cloudInit, vm with { PendingTemplates = true }));
        Assert.Empty(RequirementsCheck.Check(cloudInit, vm with { PendingTemplates = true, CloudInitDrive = true }));
    }

    [Fact]
    public void Every_unmet_requirement_is_listed_with_its_own_reason()
    {
        var image = With(("requirements.cgroup", "v1"), ("requirements.nesting", "true"), ("requirements.privileged", "false"));
        var unmet = RequirementsCheck.Check(image, new HostProfile { Privileged = true });
        Assert.Equal(["requirements.cgroup", "requirements.privileged", "requirements.nesting"], unmet.Select(u => u.Key));
        Assert.Equal(3, unmet.Select(u => u.Reason).Distinct().Count());
    }
}
