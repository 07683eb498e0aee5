//! The memory allocator every dustwatch binary runs on: mimalloc, tuned to give freed memory
//! back to the system soon.
//!
//! Why not the system allocator: a 10,000-channel cycle allocates and frees a few hundred
//! thousand small blocks (HTLC rows, actions, alerts), and glibc's malloc/free were about a
//! third of the analyzer's instructions; `dustwatch once` against the 10,000-channel simulator
//! takes ~0.95 s with mimalloc against ~1.3–1.5 s with glibc.
//!
//! Why tuned: with its defaults mimalloc commits whole arenas up front and keeps freed memory
//! for a second, and the same `once` peaked at ~106 MiB (glibc: 53–55 MiB). Two options are
//! set when the binary is loaded, before its first allocation (an option set in `main` comes too
//! late for the first arena), unless the operator set them in the environment
//! (`MIMALLOC_ARENA_EAGER_COMMIT`, `MIMALLOC_PURGE_DELAY`, which mimalloc reads itself):
//!
//! * arenas are committed on demand (`arena_eager_commit` 0);
//! * freed memory is returned after 250 ms (`purge_delay`; mimalloc's own default is 1 s).
//!   Returning it at once (0) keeps `once` at ~50 MiB but makes every allocation of a cycle
//!   fault in fresh pages: the analysis of a 10,000-channel node took ~45 ms instead of ~22 ms.
//!   250 ms is longer than a cycle's stages, so memory freed within one is reused warm.
//!
//! mimalloc purges a thread's freed memory only when that thread allocates or frees, so an idle
//! daemon would keep its last cycle's memory: the cycle returns it explicitly on every thread
//! that allocates in it ([`release_free_memory`] on each) after the fetch, after the analysis
//! and at its end. `once` then peaks at 45–50 MiB, and the idle daemon holds ~14 MiB. Elsewhere than
//! Linux mimalloc keeps its defaults.
//!
//! It is a crate of its own because the allocator ([`Mimalloc`]) and setting the options take
//! `unsafe` calls into mimalloc's C API, and dustwatch's crate root forbids `unsafe` code. dustwatch links it (its `allocator`
//! module calls [`release_free_memory`] on its threads), so the daemon, the benchmarks, the examples and
//! the tests all run on the same allocator and measure what ships. The crate is built as one
//! codegen unit (the workspace's `Cargo.toml`), so the load-time hook below is linked whenever
//! the allocator is.

use std::alloc::{GlobalAlloc, Layout};
use std::os::raw::{c_int, c_long, c_void};

use libmimalloc_sys as mi;

#[global_allocator]
static GLOBAL: Mimalloc = Mimalloc;

/// mimalloc, asked through its plain API wherever a request's alignment allows it.
///
/// Why not the `mimalloc` crate's allocator: it passes every request to mimalloc's aligned API
/// (`mi_malloc_aligned`). That API serves a block from its size class only while the class's
/// current page happens to have a free block at a suitable address; otherwise (each time a page
/// runs empty, and for every block over 1 KiB) it takes a generic path that, for a size that is
/// not a power of two, allocates `size + align - 1` bytes from the next size class up and marks
/// the page as holding interior pointers, which every later free on that page pays for. Of the
/// ~380,000 allocations of a busy 10,000-channel node's analysis (actions of 112 bytes, lists
/// of HTLC rows), 74,000 took that path: the plain API took 2.7 % off the analysis's
/// instructions (docs/performance.md, round 5).
///
/// Every mimalloc block starts on a word boundary (its size classes are whole words, and its
/// pages start aligned), so a request aligned to a word or less is served by `mi_malloc` and
/// friends, with the block size it asks for; larger alignments keep the aligned API, which is
/// what it is for. Freeing is `mi_free` either way. A test checks the alignment of what both
/// paths return.
pub struct Mimalloc;

/// The largest alignment every mimalloc block has: one machine word.
const WORD_ALIGN: usize = std::mem::size_of::<usize>();

/// True when mimalloc's plain API satisfies `layout`'s alignment.
fn plain_api_fits(align: usize, size: usize) -> bool {
    align <= WORD_ALIGN && align <= size
}

// SAFETY: every method forwards to mimalloc, which returns blocks of at least the requested
// size (or null), aligned as requested: by the word alignment of all its blocks when
// `plain_api_fits`, by its aligned API otherwise. `dealloc` and `realloc` receive only pointers
// this allocator returned, which `mi_free` and `mi_realloc*` accept whichever API made them.
unsafe impl GlobalAlloc for Mimalloc {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if plain_api_fits(layout.align(), layout.size()) {
            mi::mi_malloc(layout.size()).cast()
        } else {
            mi::mi_malloc_aligned(layout.size(), layout.align()).cast()
        }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if plain_api_fits(layout.align(), layout.size()) {
            mi::mi_zalloc(layout.size()).cast()
        } else {
            mi::mi_zalloc_aligned(layout.size(), layout.align()).cast()
        }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        mi::mi_free(ptr.cast::<c_void>());
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if plain_api_fits(layout.align(), new_size) {
            mi::mi_realloc(ptr.cast::<c_void>(), new_size).cast()
        } else {
            mi::mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align()).cast()
        }
    }
}

/// mimalloc's `mi_option_purge_delay` (`mi_option_e` in the bundled v3 `mimalloc.h`; the crate
/// does not export it as a constant): milliseconds before freed memory is returned.
const MI_OPTION_PURGE_DELAY: c_int = 15;
/// mimalloc's `mi_option_arena_eager_commit`: commit a whole arena when it is reserved.
const MI_OPTION_ARENA_EAGER_COMMIT: c_int = 4;

/// The options `tune` sets, with their values.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
const TUNING: [(c_int, c_long); 2] = [
    (MI_OPTION_PURGE_DELAY, 250),
    (MI_OPTION_ARENA_EAGER_COMMIT, 0),
];

/// Sets the allocator options above as mimalloc's defaults: an operator's `MIMALLOC_*`
/// environment variable still wins (`mi_option_set_default` leaves an option mimalloc has read
/// from the environment alone).
///
/// It runs by itself before `main` ([`TUNE_AT_LOAD`]). It must not allocate: it runs before the
/// first allocation, so the first arena mimalloc reserves already follows the tuned commit
/// policy.
#[cfg(target_os = "linux")]
fn tune() {
    for (option, value) in TUNING {
        // SAFETY: `mi_option_set_default` stores an integer in mimalloc's option table; the
        // option numbers are those of the linked mimalloc (checked by the test below). It runs
        // at load time, before any thread but the loader's exists.
        unsafe { libmimalloc_sys::mi_option_set_default(option, value) };
    }
}

#[cfg(target_os = "linux")]
extern "C" fn tune_at_load() {
    tune();
}

/// Runs `tune` when the binary is loaded, before Rust's runtime makes the first allocation
/// (which is when mimalloc reserves its first arena); on Linux every function pointer in
/// `.init_array` is called at load time.
#[cfg(target_os = "linux")]
#[used]
#[link_section = ".init_array"]
pub static TUNE_AT_LOAD: extern "C" fn() = tune_at_load;

/// The purge delay in effect, in milliseconds: 250 unless `MIMALLOC_PURGE_DELAY` set another.
/// Lets a binary check that the load-time tuning ran in it.
pub fn purge_delay_ms() -> c_long {
    // SAFETY: a read of mimalloc's option table.
    unsafe { libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY) }
}

/// Returns the memory the calling thread has freed so far to the system now, instead of at its
/// next allocation after the purge delay (mimalloc keeps freed memory per thread). Called
/// between the stages of a cycle and at its end, on every thread that allocates in a cycle
/// (dustwatch's `allocator::release_free_memory` reaches rayon's pool too).
pub fn release_free_memory() {
    // SAFETY: `mi_collect` takes no pointers; mimalloc makes it safe to call from any thread.
    unsafe { libmimalloc_sys::mi_collect(true) };
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes a pattern into `len` bytes at `p`.
    ///
    /// SAFETY: `p` must be valid for `len` bytes of writes.
    unsafe fn fill(p: *mut u8, len: usize) {
        for i in 0..len {
            *p.add(i) = (i % 251) as u8;
        }
    }

    /// True when the first `len` bytes at `p` hold the pattern of [`fill`].
    ///
    /// SAFETY: `p` must be valid for `len` bytes of reads.
    unsafe fn holds_pattern(p: *const u8, len: usize) -> bool {
        (0..len).all(|i| *p.add(i) == (i % 251) as u8)
    }

    /// Blocks from both paths (word alignment or less: mimalloc's plain API; more: its aligned
    /// API) are aligned as asked, zeroed when asked, and keep their bytes through a growing and
    /// a shrinking reallocation, which may move them to other size classes.
    #[test]
    fn blocks_are_aligned_as_asked_through_alloc_and_realloc() {
        let sizes = (1..=64).chain([100, 112, 120, 1000, 1024, 1025, 4000, 70_000, 300_000]);
        for size in sizes {
            for align in [1, 2, 4, 8, 16, 32, 64, 4096] {
                for zeroed in [false, true] {
                    let layout = Layout::from_size_align(size, align).unwrap();
                    let (grown, shrunk) = (size * 3 + 5, size.div_ceil(2));
                    // SAFETY: every layout has a non-zero size; each block is used within its
                    // size and freed once, with the layout it last had.
                    unsafe {
                        let p = if zeroed {
                            GLOBAL.alloc_zeroed(layout)
                        } else {
                            GLOBAL.alloc(layout)
                        };
                        assert!(!p.is_null(), "{size}/{align}");
                        assert_eq!(p as usize % align, 0, "alloc {size}/{align}");
                        if zeroed {
                            assert!((0..size).all(|i| *p.add(i) == 0), "zeroed {size}/{align}");
                        }
                        fill(p, size);
                        let q = GLOBAL.realloc(p, layout, grown);
                        assert_eq!(q as usize % align, 0, "grow {size}->{grown}/{align}");
                        assert!(holds_pattern(q, size), "grow {size}->{grown}/{align}");
                        fill(q, grown);
                        let r = GLOBAL.realloc(
                            q,
                            Layout::from_size_align(grown, align).unwrap(),
                            shrunk,
                        );
                        assert_eq!(r as usize % align, 0, "shrink {grown}->{shrunk}/{align}");
                        assert!(holds_pattern(r, shrunk), "shrink {grown}->{shrunk}/{align}");
                        GLOBAL.dealloc(r, Layout::from_size_align(shrunk, align).unwrap());
                    }
                }
            }
        }
    }

    fn option(option: c_int) -> c_long {
        // SAFETY: a read of mimalloc's option table.
        unsafe { libmimalloc_sys::mi_option_get(option) }
    }

    /// The option numbers are those of the linked mimalloc's `mi_option_e`: options around the
    /// two tuned ones read back their documented, distinctive defaults (a shifted or reordered
    /// table would not), and the two tuned ones read back as tuned (which shows the load-time
    /// hook ran in this test binary) or as the environment set them.
    #[test]
    #[cfg(target_os = "linux")]
    fn tuned_options_are_the_linked_ones_and_in_effect() {
        const DEPRECATED_EAGER_COMMIT: c_int = 3;
        const PURGE_DECOMMITS: c_int = 5;
        const DEPRECATED_EAGER_COMMIT_DELAY: c_int = 14;
        const OS_TAG: c_int = 18;
        const MAX_ERRORS: c_int = 19;
        const MAX_WARNINGS: c_int = 20;
        assert_eq!(option(DEPRECATED_EAGER_COMMIT), 1);
        assert_eq!(option(PURGE_DECOMMITS), 1);
        assert_eq!(option(DEPRECATED_EAGER_COMMIT_DELAY), 1);
        assert_eq!(option(OS_TAG), 100);
        assert_eq!(option(MAX_ERRORS), 32);
        assert_eq!(option(MAX_WARNINGS), 32);
        // An operator's environment variable wins over the tuning.
        for (tuned, env) in [
            (MI_OPTION_PURGE_DELAY, "MIMALLOC_PURGE_DELAY"),
            (MI_OPTION_ARENA_EAGER_COMMIT, "MIMALLOC_ARENA_EAGER_COMMIT"),
        ] {
            match std::env::var(env) {
                Ok(set) => assert_eq!(option(tuned).to_string(), set, "{env}"),
                Err(_) => assert_eq!(
                    option(tuned),
                    TUNING
                        .iter()
                        .find(|(o, _)| *o == tuned)
                        .map_or(-1, |(_, v)| *v),
                    "{env} unset: tuned"
                ),
            }
        }
    }
}
