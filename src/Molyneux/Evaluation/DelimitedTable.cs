using System.Text;

namespace Molyneux.Evaluation;

/// <summary>One data row of a <see cref="DelimitedTable"/>, with the 1-based line it starts on, for messages.</summary>
public sealed record DelimitedRow(int Line, IReadOnlyList<string> Fields);

/// <summary>A CSV or TSV file with a header row (RFC 4180: fields may be quoted, <c>""</c> inside quotes is a quote,
/// quoted fields may hold separators and line breaks). Blank lines are skipped; a row with another number of fields
/// than the header is an error naming its line, since a misplaced separator would otherwise pair an image with
/// another row's caption.</summary>
public sealed class DelimitedTable
{
    private DelimitedTable(string path, IReadOnlyList<string> header, IReadOnlyList<DelimitedRow> rows)
    {
        Location = path;
        Header = header;
        Rows = rows;
    }

    public string Location { get; }

    public IReadOnlyList<string> Header { get; }

    public IReadOnlyList<DelimitedRow> Rows { get; }

    /// <summary>A table separated by tabs for <c>.tsv</c>/<c>.tab</c> files, by commas otherwise.</summary>
    public static DelimitedTable Read(string path) =>
        Read(path, Path.GetExtension(path).ToLowerInvariant() is ".tsv" or ".tab" ? '\t' : ',');

    public static DelimitedTable Read(string path, char separator)
    {
        var fullPath = Path.GetFullPath(path);
        if (!File.Exists(fullPath)) throw new DatasetException($"{fullPath}: file not found");
        var records = Parse(fullPath, File.ReadAllText(fullPath), separator);
        if (records.Count == 0) throw new DatasetException($"{fullPath}: empty; expected a header row naming the columns");
        var header = records[0].Fields.Select(name => name.Trim()).ToList();
        var duplicate = header.GroupBy(name => name, StringComparer.Ordinal).FirstOrDefault(group => group.Count() > 1);
        if (duplicate is not null) throw new DatasetException($"{fullPath}: the header names the column '{duplicate.Key}' twice");
        foreach (var row in records.Skip(1))
            if (row.Fields.Count != header.Count)
                throw new DatasetException($"{fullPath}: line {row.Line}: {row.Fields.Count} fields, but the header has {header.Count} ({string.Join(", ", header)})");
        return new DelimitedTable(fullPath, header, records.Skip(1).ToList());
    }

    /// <summary>The index of column <paramref name="name"/>, or an error listing the columns there are, with
    /// <paramref name="hint"/> (which option picks another column).</summary>
    public int Column(string name, string hint)
    {
        for (var i = 0; i < Header.Count; i++)
            if (Header[i] == name) return i;
        throw new DatasetException($"{Location}: no column '{name}' (columns: {string.Join(", ", Header)}); {hint}");
    }

    private static List<DelimitedRow> Parse(string path, string text, char separator)
    {
        var rows = new List<DelimitedRow>();
        var fields = new List<string>();
        var field = new StringBuilder();
        var (line, rowLine, quoted, fieldStarted) = (1, 1, false, false);
        void EndField()
        {
            fields.Add(field.ToString());
            field.Clear();
            fieldStarted = false;
        }
        void EndRow()
        {
            if (fields.Count > 0 || field.Length > 0 || fieldStarted)
            {
                EndField();
                rows.Add(new DelimitedRow(rowLine, fields.ToList()));
            }
            fields.Clear();
        }
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (quoted)
            {
                if (c == '"')
                {
                    if (i + 1 < text.Length && text[i + 1] == '"') { field.Append('"'); i++; }
                    else quoted = false;
                }
                else
                {
                    if (c == '\n') line++;
                    field.Append(c);
                }
            }
            else if (c == '"' && field.Length == 0 && !fieldStarted)
            {
                quoted = fieldStarted = true;
            }
            else if (c == separator)
            {
                EndField();
            }
            else if (c is '\n' or '\r')
            {
                if (c == '\r' && i + 1 < text.Length && text[i + 1] == '\n') i++;
                EndRow();
                line++;
                rowLine = line;
            }
            else
            {
                field.Append(c);
            }
        }
        if (quoted) throw new DatasetException($"{path}: line {rowLine}: a quoted field is not closed before the end of the file");
        EndRow();
        return rows;
    }
}
