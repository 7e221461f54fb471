namespace ImageActors.Server.Operations;

/// <summary>Incus' operation status codes (the subset an image server uses); 200 and above are final.</summary>
public enum OperationStatusCode
{
    /// <summary>Created, not started.</summary>
    Pending = 105,

    /// <summary>Running.</summary>
    Running = 103,

    /// <summary>Being cancelled.</summary>
    Cancelling = 104,

    /// <summary>Finished successfully.</summary>
    Success = 200,

    /// <summary>Finished with an error.</summary>
    Failure = 400,

    /// <summary>Cancelled.</summary>
    Cancelled = 401,
}

/// <summary>The class of an operation, as Incus names them.</summary>
public enum OperationClass
{
    /// <summary>Background work (imports, deletes).</summary>
    Task,

    /// <summary>Work driven over websockets (not used by images).</summary>
    Websocket,

    /// <summary>A token (image download secrets), live until used or cancelled.</summary>
    Token,
}

/// <summary>Names and final-state checks for <see cref="OperationStatusCode"/>.</summary>
public static class OperationStatusText
{
    /// <summary>The status text Incus sends, e.g. "Running".</summary>
    public static string Of(OperationStatusCode status) => status switch
    {
        OperationStatusCode.Pending => "Pending",
        OperationStatusCode.Running => "Running",
        OperationStatusCode.Cancelling => "Cancelling",
        OperationStatusCode.Success => "Success",
        OperationStatusCode.Failure => "Failure",
        OperationStatusCode.Cancelled => "Cancelled",
        _ => status.ToString(),
    };

    /// <summary>The class name Incus sends: <c>task</c>, <c>websocket</c> or <c>token</c>.</summary>
    public static string Of(OperationClass operationClass) => operationClass switch
    {
        OperationClass.Websocket => "websocket",
        OperationClass.Token => "token",
        _ => "task",
    };

    /// <summary>Whether the status is final (200 and above).</summary>
    public static bool IsFinal(this OperationStatusCode status) => (int)status >= 200;
}
