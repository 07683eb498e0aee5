//! The memory allocator: mimalloc, tuned when the binary is loaded, from the
//! `dustwatch-allocator` crate (`crates/allocator`), which holds the project's only `unsafe`
//! code. Linking that crate is what makes it the allocator of every binary, benchmark, example
//! and test of dustwatch; see its documentation for the settings and the figures behind them.

pub use dustwatch_allocator::purge_delay_ms;

/// Returns the memory every thread of the process has freed to the system: the calling
/// thread's, and that of each thread of rayon's global pool, where the analysis and the
/// decoding of LND's largest answer run. mimalloc keeps freed memory per thread and purges a
/// thread's only when that thread calls into it again, so without the pool's threads an idle
/// daemon would hold what its last analysis freed on them. Blocks until every pool thread has
/// done it; cycle times did not change with it (docs/performance.md, round 6).
pub fn release_free_memory() {
    rayon::broadcast(|_| dustwatch_allocator::release_free_memory());
    dustwatch_allocator::release_free_memory();
}

#[cfg(test)]
mod tests {
    /// The load-time tuning ran in this binary (dustwatch's own test binary): the purge delay
    /// is the tuned one, or the one the environment asked for.
    #[test]
    #[cfg(target_os = "linux")]
    fn the_tuned_allocator_is_in_effect() {
        let want = std::env::var("MIMALLOC_PURGE_DELAY")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(250);
        assert_eq!(super::purge_delay_ms(), want);
    }

    /// Releasing reaches every thread of rayon's pool from outside it and from one of its own
    /// threads (where the broadcast includes the caller), and returns in both cases.
    #[test]
    fn release_runs_from_inside_and_outside_the_pool() {
        super::release_free_memory();
        rayon::scope(|_| super::release_free_memory());
        let on_pool_threads = rayon::broadcast(|ctx| ctx.index());
        assert_eq!(on_pool_threads.len(), rayon::current_num_threads());
    }
}
