//! History import: `npsd import delighted` (Delighted's CSV export) and `npsd import csv`
//! (`email, score, comment, responded_at` and property columns). Answers keep their original
//! times, carry channel `import`, count in every figure and never send an email. The file is
//! streamed in batches (constant memory, whatever its size), a re-run adds nothing (each answer's
//! id comes from its source row), and every skipped row is reported with its line and reason.
pub mod columns;
pub mod row;

use crate::store::answers::NewAnswer;
use crate::store::ids::SurveyId;
use anyhow::Context;
use columns::{map_header, Format};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use npsd_app::App;
use std::io::Read;
use std::path::Path;

/// Rows stored per write transaction.
const BATCH: usize = 500;
/// Skipped rows listed one by one; the rest are counted.
const MAX_LISTED: usize = 1000;

#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub rows: u64,
    pub imported: u64,
    /// Imported before (the same source row).
    pub already: u64,
    /// (line, reason)
    pub skipped: Vec<(u64, String)>,
    pub skipped_count: u64,
}

/// Where skipped rows and progress go: stderr (with a progress bar on a terminal), or a test.
pub trait Report {
    fn skipped(&mut self, line: u64, reason: &str);
    fn read_bytes(&mut self, _bytes: u64) {}
}

/// The terminal's report: a progress bar by bytes read (hidden when stderr is not a terminal)
/// and one line per skipped row.
pub struct Terminal {
    bar: ProgressBar,
}

impl Terminal {
    pub fn new(total_bytes: u64) -> Terminal {
        let bar = ProgressBar::with_draw_target(Some(total_bytes), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template(
                "{spinner} importing [{bar:30}] {bytes}/{total_bytes} ({eta} left)",
            )
            .expect("a valid template")
            .progress_chars("=> "),
        );
        Terminal { bar }
    }

    pub fn finish(&self) {
        self.bar.finish_and_clear();
    }
}

impl Report for Terminal {
    fn skipped(&mut self, line: u64, reason: &str) {
        self.bar
            .suspend(|| eprintln!("npsd import: line {line} skipped: {reason}"));
    }

    fn read_bytes(&mut self, bytes: u64) {
        self.bar.set_position(bytes);
    }
}

async fn store_batch(
    app: &App,
    survey_id: &SurveyId,
    batch: Vec<NewAnswer>,
    events: bool,
    summary: &mut Summary,
) -> anyhow::Result<()> {
    if batch.is_empty() {
        return Ok(());
    }
    let n = batch.len() as u64;
    let added = npsd_app::answers::import(app, survey_id.clone(), batch, events)
        .await
        .context("storing imported answers")?;
    summary.imported += added;
    summary.already += n - added;
    Ok(())
}

/// Imports a CSV stream into the survey with this slug.
pub async fn import<R: Read>(
    app: &App,
    survey_slug: &str,
    format: Format,
    input: R,
    events: bool,
    report: &mut dyn Report,
) -> anyhow::Result<Summary> {
    let now = app.clock.now();
    let survey = match npsd_app::surveys::find(app, survey_slug.to_string()).await {
        Err(npsd_app::ServiceError::NotFound(_)) => {
            anyhow::bail!("there is no survey '{survey_slug}'")
        }
        found => found?,
    };
    let mut reader = csv::ReaderBuilder::new()
        .flexible(true)
        .trim(csv::Trim::None)
        .from_reader(input);
    let headers = reader.headers().context("reading the header row")?.clone();
    let header_names: Vec<&str> = headers.iter().collect();
    let columns = map_header(format, &header_names).map_err(anyhow::Error::msg)?;
    let mut summary = Summary::default();
    let mut batch = Vec::with_capacity(BATCH);
    let mut record = csv::StringRecord::new();
    loop {
        let line = reader.position().line() + 1;
        let before = reader.position().byte();
        let more = match reader.read_record(&mut record) {
            Ok(more) => more,
            Err(e) => {
                if reader.position().byte() == before {
                    return Err(anyhow::Error::new(e).context("reading the file"));
                }
                // A row that is not CSV (bad quoting, not UTF-8): skip it, keep reading.
                summary.rows += 1;
                let line = e.position().map_or(line, |p| p.line());
                skip(
                    &mut summary,
                    report,
                    line,
                    &format!("not readable as CSV: {e}"),
                );
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    return Err(anyhow::Error::new(e).context("reading the file"));
                }
                continue;
            }
        };
        if !more {
            break;
        }
        if record.iter().all(|f| f.trim().is_empty()) {
            continue;
        }
        summary.rows += 1;
        let line = record.position().map_or(line, |p| p.line());
        match row::parse_row(format, &columns, &record, line, &survey.id, now) {
            Ok(answer) => batch.push(answer),
            Err(reason) => skip(&mut summary, report, line, &reason),
        }
        if batch.len() >= BATCH {
            let full = std::mem::replace(&mut batch, Vec::with_capacity(BATCH));
            store_batch(app, &survey.id, full, events, &mut summary).await?;
            report.read_bytes(reader.position().byte());
        }
    }
    store_batch(app, &survey.id, batch, events, &mut summary).await?;
    report.read_bytes(reader.position().byte());
    Ok(summary)
}

fn skip(summary: &mut Summary, report: &mut dyn Report, line: u64, reason: &str) {
    summary.skipped_count += 1;
    if summary.skipped.len() < MAX_LISTED {
        summary.skipped.push((line, reason.to_string()));
        report.skipped(line, reason);
    }
}

/// `npsd import FORMAT --survey SLUG [--events] FILE`: the file imported, a progress bar on a
/// terminal, a summary on stdout. Imported answers record no events unless `events`.
pub async fn run(
    app: &App,
    format: Format,
    survey: &str,
    file: &Path,
    events: bool,
) -> anyhow::Result<()> {
    let f = std::fs::File::open(file).with_context(|| format!("cannot open {}", file.display()))?;
    // The survey `serve` makes on its first start: an import may come first.
    if survey == crate::domain::survey::DEFAULT_SLUG {
        npsd_app::surveys::ensure_default(app).await?;
    }
    let size = f.metadata().map(|m| m.len()).unwrap_or(0);
    let mut terminal = Terminal::new(size);
    let result = import(
        app,
        survey,
        format,
        std::io::BufReader::new(f),
        events,
        &mut terminal,
    )
    .await;
    terminal.finish();
    let s = result?;
    if s.skipped_count > s.skipped.len() as u64 {
        eprintln!(
            "npsd import: {} more rows skipped (only the first {MAX_LISTED} are listed)",
            s.skipped_count - s.skipped.len() as u64
        );
    }
    println!(
        "npsd: read {} rows of {}: {} imported into survey '{survey}', {} there already, {} skipped",
        s.rows,
        file.display(),
        s.imported,
        s.already,
        s.skipped_count
    );
    Ok(())
}
