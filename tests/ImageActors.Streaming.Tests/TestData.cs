using System.Text;

namespace ImageActors.Streaming.Tests;

/// <summary>Deterministic payloads: half random bytes, half text, like a real rootfs.</summary>
internal static class TestData
{
    public static byte[] Mixed(int length, int seed = 1)
    {
        var data = new byte[length];
        new Random(seed).NextBytes(data.AsSpan(0, length / 2));
        var text = Encoding.ASCII.GetBytes("root:x:0:0:root:/root:/bin/bash\n# The quick brown fox jumps over the lazy dog 0123456789\n");
        for (var i = length / 2; i < length; i++)
        {
            data[i] = text[i % text.Length];
        }

        return data;
    }
}
