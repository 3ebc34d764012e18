namespace Diffuser;

/// <summary>The base of every error Diffuser raises on bad input, bad files or bad configuration.</summary>
public class DiffuserException : Exception
{
    public DiffuserException(string message) : base(message) { }
    public DiffuserException(string message, Exception inner) : base(message, inner) { }
}
