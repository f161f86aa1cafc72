namespace DataraxCkpt.Inspection;

/// <summary>
/// A running sum with Neumaier compensation: the rounding error of every addition is kept and added back
/// at the end, so the total of many partial sums does not drift with their number. Once the sum is no
/// longer finite the compensation stops (∞ − ∞ would turn it into NaN).
/// </summary>
internal struct CompensatedSum
{
    private double _sum;
    private double _compensation;

    public readonly double Value => double.IsFinite(_sum) ? _sum + _compensation : _sum;

    public void Add(double value)
    {
        var total = _sum + value;
        if (double.IsFinite(total))
        {
            _compensation += Math.Abs(_sum) >= Math.Abs(value) ? (_sum - total) + value : (value - total) + _sum;
        }

        _sum = total;
    }

    public void Add(in CompensatedSum other)
    {
        Add(other._sum);
        Add(other._compensation);
    }
}
