// An allocator that takes whole pages from the kernel (an anonymous mmap per allocation) and gives
// them back on deallocation (munmap), for the large temporary buffers of segment builds: sort
// scratch, the Bloom filter's distinct keys, the entries handed over from JS, the page buffer.
//
// Why not malloc: those buffers are tens of MB, made and freed on libuv pool threads, and glibc
// raises its mmap threshold to the size of the last large block freed (up to 32 MB), so later ones
// come from that thread's arena and stay resident after free: ~65 MB of the bench's 1M-event
// ingestion. malloc_trim after each build handed it back but also stripped the arenas the JS thread
// allocates from, which then faulted pages in again (8-in-flight appends 10-25% slower).
//
// Why huge pages: fresh memory is paid for at first touch, and on the bench VM a 4 KiB page fault
// costs ~16 us (12 MB of entries: 48 ms, on the JS thread). Mappings of 2 MiB or more are aligned
// to 2 MiB and advised MADV_HUGEPAGE, which transparent huge pages honour in their default
// `madvise` mode: the same 12 MB then takes ~1 ms. Where the kernel declines, 4 KiB pages serve.
//
// Invariant: every allocation is its own mapping, exactly the pages it covers; nothing is shared,
// so any instance frees what any other allocated. Pages never written are never resident (with
// huge pages, at most one 2 MiB page past the last byte written): `reserve` of an upper bound
// costs address space only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <new>
#include <vector>

#include "env.h"

namespace annals {

namespace page_allocator_detail {

constexpr std::size_t kPage = 4096;

inline std::size_t RoundUp(std::size_t n, std::size_t to) { return (n + to - 1) / to * to; }

// A fresh mapping of `bytes` (env.h: 2 MiB-aligned and advised to use huge pages when that large).
inline void* MapPages(std::size_t bytes) { return AllocatePages(RoundUp(bytes, kPage)); }

inline void UnmapPages(void* p, std::size_t bytes) { FreePages(p, RoundUp(bytes, kPage)); }

}  // namespace page_allocator_detail

template <class T>
class PageAllocator {
 public:
  using value_type = T;

  PageAllocator() noexcept = default;
  template <class U>
  explicit PageAllocator(const PageAllocator<U>& /*other*/) noexcept {}

  T* allocate(std::size_t n) { return static_cast<T*>(page_allocator_detail::MapPages(Bytes(n))); }
  void deallocate(T* p, std::size_t n) noexcept { page_allocator_detail::UnmapPages(p, Bytes(n)); }

  template <class U>
  bool operator==(const PageAllocator<U>& /*other*/) const noexcept {
    return true;
  }
  template <class U>
  bool operator!=(const PageAllocator<U>& /*other*/) const noexcept {
    return false;
  }

 private:
  // A zero-length mapping is refused: an empty allocation takes one page.
  static std::size_t Bytes(std::size_t n) { return n == 0 ? 1 : n * sizeof(T); }
};

#if defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ANNALS_ADDRESS_SANITIZER 1
#endif
#endif
#if defined(__SANITIZE_ADDRESS__)
#define ANNALS_ADDRESS_SANITIZER 1
#endif

#ifdef ANNALS_ADDRESS_SANITIZER
// AddressSanitizer checks the bounds of what malloc hands out, not of anonymous mappings: the
// sanitizer builds (native tests, fuzzers) keep these buffers on malloc so overflows still show.
template <class T>
using PageVector = std::vector<T>;
#else
template <class T>
using PageVector = std::vector<T, PageAllocator<T> >;
#endif

}  // namespace annals
