//! Buffers for packed weights, on transparent huge pages where Linux has them.
//!
//! The kernels stream a layer's whole weight once per panel of rows. On 4 KiB pages
//! BERT-base's 9 MiB feed-forward weights span 2,300 pages, past what the TLBs hold, and each
//! block of weights pays page walks; on 2 MiB pages they span five. On an Intel Xeon (Ice
//! Lake, one core) the f32 products of BERT-base's shapes went from 100–112 to 118–137
//! GFLOP/s with nothing else changed. Linux gives huge pages to memory marked with
//! `MADV_HUGEPAGE` when THP is in `madvise` mode (Debian's default; `always` needs no mark),
//! and only to pages first touched after the mark: so a large buffer is mapped fresh, aligned,
//! marked, and only then filled. Elsewhere, and for small buffers, it is a plain allocation.

use std::ops::{Deref, DerefMut};

/// Element types whose all-zero bytes are a valid value (fresh anonymous pages are zero).
pub(super) trait Zeroable: Copy + Default {}
impl Zeroable for f32 {}
impl Zeroable for i8 {}

/// A fixed-length, zero-initialized slice of `T`.
pub(super) struct PageBuffer<T: Zeroable> {
    memory: Memory<T>,
}

enum Memory<T> {
    Heap(Box<[T]>),
    #[cfg(target_os = "linux")]
    Mapped(huge::Mapping<T>),
}

impl<T: Zeroable> PageBuffer<T> {
    /// `len` zeros: on huge pages when the buffer spans at least one.
    pub(super) fn zeroed(len: usize) -> Self {
        #[cfg(target_os = "linux")]
        if let Some(mapping) = huge::Mapping::new(len) {
            return Self { memory: Memory::Mapped(mapping) };
        }
        Self { memory: Memory::Heap(vec![T::default(); len].into_boxed_slice()) }
    }

    /// Whether the buffer lies on memory marked for huge pages (the kernel may still have
    /// given it small pages, when no free 2 MiB page was at hand).
    #[cfg(test)]
    fn is_marked_huge(&self) -> bool {
        !matches!(self.memory, Memory::Heap(_))
    }
}

impl<T: Zeroable> Deref for PageBuffer<T> {
    type Target = [T];

    fn deref(&self) -> &[T] {
        match &self.memory {
            Memory::Heap(data) => data,
            #[cfg(target_os = "linux")]
            Memory::Mapped(mapping) => mapping.as_slice(),
        }
    }
}

impl<T: Zeroable> DerefMut for PageBuffer<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        match &mut self.memory {
            Memory::Heap(data) => data,
            #[cfg(target_os = "linux")]
            Memory::Mapped(mapping) => mapping.as_mut_slice(),
        }
    }
}

#[cfg(target_os = "linux")]
mod huge {
    use std::marker::PhantomData;
    use std::ptr::NonNull;

    use rayon::prelude::*;

    use super::Zeroable;

    /// The size of an x86-64 or aarch64 (4 KiB base page) transparent huge page.
    const HUGE_PAGE: usize = 2 << 20;

    /// An anonymous private mapping holding `len` values from a huge-page boundary.
    pub(super) struct Mapping<T> {
        base: NonNull<libc::c_void>,
        mapped_bytes: usize,
        data: NonNull<T>,
        len: usize,
        _owns: PhantomData<T>,
    }

    // SAFETY: the mapping is owned memory, like a Box<[T]>.
    unsafe impl<T: Send> Send for Mapping<T> {}
    // SAFETY: as above; shared access is read-only through `as_slice`.
    unsafe impl<T: Sync> Sync for Mapping<T> {}

    impl<T: Zeroable> Mapping<T> {
        /// `None` when the buffer is smaller than a huge page or the mapping fails (the caller
        /// then allocates on the heap).
        pub(super) fn new(len: usize) -> Option<Self> {
            let bytes = len.checked_mul(size_of::<T>())?;
            if bytes < HUGE_PAGE {
                return None;
            }
            // One huge page more than needed, so that an aligned start lies inside.
            let mapped_bytes = bytes.div_ceil(HUGE_PAGE).checked_add(1)? * HUGE_PAGE;
            // SAFETY: a fresh anonymous mapping; no existing memory is touched.
            let base = unsafe {
                libc::mmap(
                    std::ptr::null_mut(),
                    mapped_bytes,
                    libc::PROT_READ | libc::PROT_WRITE,
                    libc::MAP_PRIVATE | libc::MAP_ANONYMOUS,
                    -1,
                    0,
                )
            };
            if base == libc::MAP_FAILED {
                return None;
            }
            let base = NonNull::new(base)?;
            let offset = base.as_ptr().cast::<u8>().align_offset(HUGE_PAGE);
            // SAFETY: `offset < HUGE_PAGE`, so the aligned start and `bytes` after it lie
            // within the mapping.
            let data = unsafe { base.cast::<u8>().add(offset) };
            // Only whole huge pages are marked: a tail shorter than one stays on small pages,
            // where a huge page would hold up to 2 MiB that nothing uses (BERT-base's 2.25 MiB
            // attention weights would each take 4 MiB).
            let pages = bytes / HUGE_PAGE;
            // Refused on kernels without THP (EINVAL): the buffer then has small pages, which
            // is correct, only slower; nothing to report.
            // SAFETY: the range is within our own mapping.
            unsafe { libc::madvise(data.as_ptr().cast(), pages * HUGE_PAGE, libc::MADV_HUGEPAGE) };
            // The first write to each page has the kernel clear it (2 MiB): done by all workers
            // at once, rather than one page at a time as the caller fills the buffer.
            let start = data.as_ptr() as usize;
            (0..pages).into_par_iter().for_each(|page| {
                // SAFETY: the page's first byte lies within the mapping; writing the 0 it
                // already holds changes nothing but makes the kernel back the page.
                unsafe { std::ptr::write_volatile((start + page * HUGE_PAGE) as *mut u8, 0) }
            });
            Some(Self { base, mapped_bytes, data: data.cast(), len, _owns: PhantomData })
        }

        pub(super) fn as_slice(&self) -> &[T] {
            // SAFETY: `len` values from `data` lie in the mapping, zero-filled by the kernel,
            // which `Zeroable` makes valid values.
            unsafe { std::slice::from_raw_parts(self.data.as_ptr(), self.len) }
        }

        pub(super) fn as_mut_slice(&mut self) -> &mut [T] {
            // SAFETY: as in `as_slice`, and `&mut self` makes the access exclusive.
            unsafe { std::slice::from_raw_parts_mut(self.data.as_ptr(), self.len) }
        }
    }

    impl<T> Drop for Mapping<T> {
        fn drop(&mut self) {
            // SAFETY: unmaps exactly the mapping made in `new`, no longer borrowed.
            unsafe { libc::munmap(self.base.as_ptr(), self.mapped_bytes) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::PageBuffer;

    #[test]
    fn buffers_start_zeroed_and_keep_what_is_written() {
        // Below and above a huge page (2 MiB = 524,288 f32), and an odd length.
        for len in [0, 3, 1000, (2 << 20) / 4, (5 << 20) / 4 + 7] {
            let mut buffer = PageBuffer::<f32>::zeroed(len);
            assert_eq!(buffer.len(), len);
            assert!(buffer.iter().all(|&v| v == 0.0));
            for (i, v) in buffer.iter_mut().enumerate() {
                *v = i as f32;
            }
            assert!(buffer.iter().enumerate().all(|(i, &v)| v == i as f32));
            if cfg!(target_os = "linux") {
                assert_eq!(buffer.is_marked_huge(), len * 4 >= 2 << 20, "{len}");
            }
        }
        let bytes = PageBuffer::<i8>::zeroed(3 << 20);
        assert!(bytes.iter().all(|&v| v == 0));
    }
}
