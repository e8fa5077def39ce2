//! glibc's allocator, set up for a long-running dashboard before anything is allocated.
//!
//! glibc gives each thread that allocates an arena of its own (up to eight per core) and keeps
//! what is freed in it, and after each large free it raises the size from which buffers are
//! mapped on their own, so that later large buffers (AWS's response bodies) come from those
//! arenas and stay there. One arena and a fixed threshold take about 10 MiB off the dashboard's
//! peak at its first list on two cores (docs/benchmarks.md), more on a machine with more
//! cores (more tokio workers, more arenas).
//!
//! glibc reads these settings from the environment when the process starts, and `mallopt` would
//! need unsafe code, which haven forbids: [`tune`] sets them and executes haven again, once. A
//! person's own `MALLOC_ARENA_MAX` is kept, and nothing is done.

/// The variable that says how many arenas glibc may make.
pub const ARENAS: &str = "MALLOC_ARENA_MAX";
/// The variable that fixes the size from which glibc maps a buffer on its own (and unmaps it when
/// freed).
pub const MMAP_THRESHOLD: &str = "MALLOC_MMAP_THRESHOLD_";

/// Executes haven again with the settings, unless they are set (or this is not glibc on Linux).
/// Returns only if nothing was done or the exec failed (haven then runs with glibc's defaults).
pub fn tune() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    {
        use std::os::unix::process::CommandExt;
        if std::env::var_os(ARENAS).is_some() {
            return;
        }
        let Ok(exe) = std::env::current_exe() else {
            return;
        };
        let mut args = std::env::args_os();
        let mut again = std::process::Command::new(exe);
        if let Some(name) = args.next() {
            again.arg0(name);
        }
        let _failed = again
            .args(args)
            .env(ARENAS, "1")
            .env(MMAP_THRESHOLD, "131072")
            .exec();
    }
}
