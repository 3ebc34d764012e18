namespace Diffuser.Kernels.Elementwise;

public enum BinaryOp
{
    Add = 0,
    Subtract = 1,
    Multiply = 2,
}

public static class BinaryMath
{
    public static float Apply(float a, float b, BinaryOp op) => op switch
    {
        BinaryOp.Subtract => a - b,
        BinaryOp.Multiply => a * b,
        _ => a + b,
    };
}
