//! The last topology seen, kept on disk so the dashboard starts with it while it refreshes.

use std::path::Path;

use haven_model::Topology;

/// Reads the cached topology; a missing file is `None`, a malformed one is `None` with a warning.
pub fn read_cached_topology(path: &Path) -> Option<Topology> {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return None,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot read the cached topology");
            return None;
        }
    };
    match Topology::from_json(&text) {
        Ok(topology) => Some(topology),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "ignoring the cached topology");
            None
        }
    }
}

/// Writes the topology to the cache file atomically (a temporary file renamed over it),
/// streamed and compact: the dashboard writes it after every read, and a document of 10,000
/// instances made whole in memory first would cost its size again (~30 MB) each time.
pub fn write_cached_topology(path: &Path, topology: &Topology) -> std::io::Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let temporary = path.with_extension("json.tmp");
    let mut file = std::io::BufWriter::new(std::fs::File::create(&temporary)?);
    serde_json::to_writer(&mut file, topology)?;
    file.flush()?;
    drop(file);
    std::fs::rename(&temporary, path)
}
