using Molyneux.Runtime;

namespace Molyneux.KnowledgeTransfer;

/// <summary>Where a <c>learn</c> run's results go: the taught model (in the base model's own layout) and, when asked,
/// the report folder (report.json, report.html with the images). Made before any work, so that a folder that exists
/// stops the run at once rather than after an hour of training; each folder then appears whole or not at all.</summary>
public sealed class LearnOutputs
{
    /// <summary>The file of <see cref="WriteEach"/>'s per-concept table (the paper's Table 1) in the report folder.</summary>
    public const string PerConceptSummaryFileName = "summary.md";

    private readonly string? invertedFolder;

    /// <param name="modelFolder">Folder for the taught model (one subfolder per concept for <see cref="WriteEach"/>).</param>
    /// <param name="reportFolder">Folder for the report; null: none.</param>
    /// <param name="overwrite">Replace folders that exist; otherwise they are refused here.</param>
    /// <param name="invertedFolder">The saved inversion fine-tuned on instead of inverting again, named in the report.</param>
    /// <exception cref="OptionException">A folder exists and <paramref name="overwrite"/> is false.</exception>
    public LearnOutputs(string modelFolder, string? reportFolder, bool overwrite, string? invertedFolder = null)
    {
        foreach (var target in new[] { modelFolder, reportFolder }.OfType<string>())
            if (Directory.Exists(target) && !overwrite) throw new OptionException($"{target}: already exists (pass --overwrite to replace it)");
        (ModelFolder, ReportFolder, Overwrite) = (Path.GetFullPath(modelFolder), reportFolder is null ? null : Path.GetFullPath(reportFolder), overwrite);
        this.invertedFolder = invertedFolder is null ? null : Path.GetFullPath(invertedFolder);
    }

    public string ModelFolder { get; }

    public string? ReportFolder { get; }

    public bool Overwrite { get; }

    /// <summary>The report's page, to open in a browser; null without a report folder.</summary>
    public string? ReportPage => ReportFolder is null ? null : Path.Combine(ReportFolder, LearnReport.HtmlFileName);

    /// <summary>Saves a run that taught the concepts together: the taught model, then its report.</summary>
    /// <param name="result">The run.</param>
    public void Write(LearnResult result)
    {
        AtomicFile.WriteDirectory(ModelFolder, Overwrite, result.Model.WriteModelFiles);
        if (ReportFolder is not null)
            AtomicFile.WriteDirectory(ReportFolder, Overwrite, folder => Report(folder, result).Save(folder));
    }

    /// <summary>Runs <paramref name="teach"/> (one concept taught alone per result, in the order of
    /// <paramref name="conceptNames"/>) and saves each result as it comes, so that one taught model is alive at a time:
    /// the model to MODEL/&lt;concept&gt;/, its report to REPORT/&lt;concept&gt;/, and at the end the table of all of
    /// them to REPORT/summary.md. Both folders appear whole when every concept is done, or not at all.</summary>
    /// <param name="teach">The runs, made as they are enumerated (<see cref="ConceptLearner.LearnEach(Modeling.IVisionLanguageModel, IReadOnlyList{TeachableConcept}, ReferenceClasses, InversionResult?)"/>).</param>
    /// <param name="conceptNames">The concepts' names, which name their folders (<see cref="InvertedConcepts.FolderNames"/>).</param>
    /// <returns>Every concept's run and the mean gain with its interval.</returns>
    public PerConceptSummary WriteEach(Func<IEnumerable<LearnResult>> teach, IReadOnlyList<string> conceptNames)
    {
        var folderNames = InvertedConcepts.FolderNames(conceptNames);
        var taught = new List<TaughtAlone>();
        PerConceptSummary? summary = null;
        void Run(string models, string? reports)
        {
            foreach (var (c, learnt) in teach().Index())
            {
                using var result = learnt;
                result.Model.WriteModelFiles(Directory.CreateDirectory(Path.Combine(models, folderNames[c])).FullName);
                if (reports is not null)
                {
                    var reportOfConcept = Directory.CreateDirectory(Path.Combine(reports, folderNames[c])).FullName;
                    Report(reportOfConcept, result).Save(reportOfConcept);
                }
                taught.Add(TaughtAlone.Of(result));
                summary = new PerConceptSummary(taught, result.BeforeHits, result.Split.ConceptTest);
            }
            if (reports is not null) AtomicFile.WriteAllText(Path.Combine(reports, PerConceptSummaryFileName), summary!.Markdown());
        }
        AtomicFile.WriteDirectory(ModelFolder, Overwrite, models =>
        {
            if (ReportFolder is null) Run(models, null);
            else AtomicFile.WriteDirectory(ReportFolder, Overwrite, reports => Run(models, reports));
        });
        return summary!;
    }

    private LearnReport Report(string folder, LearnResult result) => LearnReport.Create(folder, result, ModelFolder, invertedFolder);
}
