namespace ImageActors.Streaming.Images;

/// <summary>An image whose files do not make a valid image. The message is Incus' text where Incus has one.</summary>
public sealed class InvalidImageException : IOException
{
    /// <summary>Creates the error.</summary>
    public InvalidImageException(string message, Exception? inner = null)
        : base(message, inner)
    {
    }
}
