//! The memory allocator: mimalloc, tuned when the binary is loaded, from the
//! `dustwatch-allocator` crate (`crates/allocator`), which holds the project's only `unsafe`
//! code. Linking that crate is what makes it the allocator of every binary, benchmark, example
//! and test of dustwatch; see its documentation for the settings and the figures behind them.

pub use dustwatch_allocator::{purge_delay_ms, release_free_memory};

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
}
