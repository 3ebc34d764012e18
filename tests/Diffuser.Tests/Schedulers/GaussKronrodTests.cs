using Diffuser.Schedulers;

namespace Diffuser.Tests.Schedulers;

/// <summary>The adaptive quadrature behind LMS's coefficients.</summary>
public class GaussKronrodTests
{
    [Fact]
    public void IntegratesPolynomialsExactly() =>
        Assert.Equal(Math.Pow(14.6, 4) / 4 - Math.Pow(0.03, 4) / 4 - (14.6 - 0.03), GaussKronrod.Integrate(x => x * x * x - 1, 0.03, 14.6, 1e-4), 1e-9);

    [Fact]
    public void AdaptsToAnEndpointSingularity() =>
        Assert.Equal(2.0 / 3, GaussKronrod.Integrate(Math.Sqrt, 0, 1, epsRel: 1e-12, epsAbs: 0), 1e-10);

    [Fact]
    public void IntegratesBackwards() => Assert.Equal(-2, GaussKronrod.Integrate(Math.Sin, Math.PI, 0, 1e-10), 1e-12);
}
