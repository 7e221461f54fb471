using Akka.Actor;
using Microsoft.Extensions.Logging;
using DeadLetter = Akka.Event.DeadLetter;

namespace ImageActors.Images.Hosting;

/// <summary>
/// Logs dead letters as warnings through the host's logging. Akka reports them at INFO, beside its routine start and
/// stop lines, so a host that keeps Akka at warnings would never see a message that reached no actor. At most
/// <see cref="PerMinute"/> are logged a minute, then one line counts the rest; none while the system shuts down, when
/// replies to stopped actors are expected.
/// </summary>
internal sealed partial class DeadLetterLogger : ReceiveActor, IWithTimers
{
    /// <summary>Dead letters logged one by one each minute.</summary>
    public const int PerMinute = 10;

    private const int MaxMessageText = 200;
    private readonly ILogger _logger;
    private int _loggedThisMinute;
    private int _suppressed;

    public DeadLetterLogger(ILogger logger)
    {
        _logger = logger;
        Receive<DeadLetter>(OnDeadLetter);
        Receive<MinutePassed>(_ =>
        {
            if (_suppressed > 0)
            {
                LogSuppressed(_logger, _suppressed);
            }

            _loggedThisMinute = 0;
            _suppressed = 0;
        });
    }

    public ITimerScheduler Timers { get; set; } = null!;

    public static Props Props(ILoggerFactory loggerFactory) =>
        Akka.Actor.Props.Create(() => new DeadLetterLogger(loggerFactory.CreateLogger("ImageActors.Images.DeadLetters")));

    protected override void PreStart()
    {
        Context.System.EventStream.Subscribe(Self, typeof(DeadLetter));
        Timers.StartPeriodicTimer("minute", MinutePassed.Instance, TimeSpan.FromMinutes(1));
    }

    protected override void PostStop() => Context.System.EventStream.Unsubscribe(Self);

    private void OnDeadLetter(DeadLetter letter)
    {
        if (CoordinatedShutdown.Get(Context.System).ShutdownReason is not null)
        {
            return;
        }

        if (_loggedThisMinute >= PerMinute)
        {
            _suppressed++;
            return;
        }

        _loggedThisMinute++;
        var text = letter.Message?.ToString() ?? "null";
        if (text.Length > MaxMessageText)
        {
            text = text[..MaxMessageText] + "…";
        }

        LogDeadLetter(_logger, letter.Message?.GetType().Name ?? "null", letter.Sender?.Path.ToString() ?? "no sender", letter.Recipient?.Path.ToString() ?? "nobody", text);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Dead letter: a {MessageType} from {Sender} to {Recipient} reached no actor: {Text}")]
    private static partial void LogDeadLetter(ILogger logger, string messageType, string sender, string recipient, string text);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Count} more dead letters in the last minute were not logged one by one")]
    private static partial void LogSuppressed(ILogger logger, int count);

    private sealed class MinutePassed
    {
        public static readonly MinutePassed Instance = new();
    }
}
