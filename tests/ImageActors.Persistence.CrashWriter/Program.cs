namespace ImageActors.Persistence.CrashWriter;

public static class Program
{
    public static int Main() => 0;
}
