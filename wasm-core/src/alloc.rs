//! Counts the heap bytes the core holds, so a memory budget can be checked BEFORE a batch makes
//! the core grow. Without it the core grew until the 4 GiB address space ran out and trapped
//! (issue #11: ~3.7M jobs of 1 KB), losing every job; with it a batch that would not fit is
//! refused (QUEUE_FULL) and the state stays readable.
use std::alloc::{GlobalAlloc, Layout, System};

pub struct Counting;

#[global_allocator]
static GLOBAL: Counting = Counting;

// One wasm instance is single-threaded: a plain static. Host tests run on many threads: one
// counter per thread, so a test sees only its own allocations.
#[cfg(target_arch = "wasm32")]
mod counter {
    static mut LIVE: usize = 0;
    #[inline]
    pub fn add(n: usize) {
        unsafe { LIVE = LIVE.wrapping_add(n) }
    }
    #[inline]
    pub fn sub(n: usize) {
        unsafe { LIVE = LIVE.wrapping_sub(n) }
    }
    pub fn get() -> usize {
        unsafe { LIVE }
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod counter {
    use std::cell::Cell;
    thread_local! {
        static LIVE: Cell<usize> = const { Cell::new(0) };
    }
    #[inline]
    pub fn add(n: usize) {
        let _ = LIVE.try_with(|c| c.set(c.get().wrapping_add(n)));
    }
    #[inline]
    pub fn sub(n: usize) {
        let _ = LIVE.try_with(|c| c.set(c.get().wrapping_sub(n)));
    }
    pub fn get() -> usize {
        LIVE.try_with(|c| c.get()).unwrap_or(0)
    }
}

unsafe impl GlobalAlloc for Counting {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            counter::add(layout.size());
        }
        p
    }
    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            counter::add(layout.size());
        }
        p
    }
    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        counter::sub(layout.size());
    }
    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            counter::sub(layout.size());
            counter::add(new_size);
        }
        p
    }
}

/// Heap bytes currently allocated (by this instance; on the host, by this thread).
pub fn live_bytes() -> usize {
    counter::get()
}

/// Whether `extra` more heap bytes stay within `budget` (0 = no budget).
pub fn fits(budget: usize, extra: usize) -> bool {
    budget == 0 || live_bytes().saturating_add(extra) <= budget
}
