using System.Globalization;

namespace Molyneux.Cli;

/// <summary>A comma-separated list of numbers in an option's value.</summary>
public static class NumberList
{
    public static IReadOnlyList<double> Parse(string option, string value)
    {
        var items = value.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        var numbers = new List<double>(items.Length);
        foreach (var item in items)
        {
            if (!double.TryParse(item, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) || !double.IsFinite(number))
                throw new OptionException($"{option}: '{item}' is not a number (expected a comma-separated list such as 1e-5,3e-5)");
            numbers.Add(number);
        }
        if (numbers.Count == 0) throw new OptionException($"{option}: expected at least one number, got '{value}'");
        return numbers;
    }
}
