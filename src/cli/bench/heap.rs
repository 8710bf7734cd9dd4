//! `bench --heap-profile FILE` (cargo feature `dhat-heap`): where the fresh converge's memory
//! goes, by allocation site. dhat records every allocation's backtrace while the profile runs,
//! and writes what was live at the heap's peak, and where it was allocated, to FILE when the
//! profile ends; DHAT's viewer (`dh_view.html`, from Valgrind) or
//! `tests/bench/heap_top.py FILE` reads it.

use std::path::Path;

/// Frames kept of each backtrace: enough to reach the reconciler's own frames from deep inside
/// the SDK, hyper or tokio.
const FRAMES: usize = 48;

/// A running heap profile; it is written when dropped.
pub(super) struct HeapProfile(dhat::Profiler);

impl HeapProfile {
    /// Starts profiling the heap into `file`.
    pub(super) fn start(file: &Path) -> Self {
        Self(
            dhat::Profiler::builder()
                .file_name(file)
                .trim_backtraces(Some(FRAMES))
                .build(),
        )
    }
}
