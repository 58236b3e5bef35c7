using AgentMetrics.Sidecar.Metrics;
using Xunit;

namespace AgentMetrics.Sidecar.Tests;

public class SeriesTests
{
    private static readonly double[] Sixteen = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 25, 50];

    [Theory]
    [InlineData(0.001, 0)]
    [InlineData(0.005, 0)]
    [InlineData(0.0051, 1)]
    [InlineData(1, 9)]
    [InlineData(49.9, 15)]
    [InlineData(50, 15)]
    [InlineData(51, 16)]
    [InlineData(double.PositiveInfinity, 16)]
    [InlineData(double.NegativeInfinity, 0)]
    [InlineData(double.NaN, 0)]
    public void An_observation_lands_in_the_first_bucket_whose_bound_holds_it(double value, int bucket) =>
        Assert.Equal(bucket, Series.BucketOf(Sixteen, value));

    [Fact]
    public void Any_number_of_bounds_is_searched_alike()
    {
        for (var length = 0; length <= 21; length++)
        {
            var bounds = Enumerable.Range(1, length).Select(i => (double)i).ToArray();
            for (var value = -0.5; value <= length + 1; value += 0.5)
            {
                Assert.Equal(bounds.Count(b => value > b), Series.BucketOf(bounds, value));
            }
        }
    }
}
