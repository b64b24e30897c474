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
// Invariant: every allocation is its own mapping; nothing is shared, so any instance frees what
// any other allocated. Pages never written are never resident: `reserve` of an upper bound costs
// address space only.
#pragma once

#include <sys/mman.h>

#include <cstddef>
#include <new>
#include <vector>

namespace annals {

template <class T>
class PageAllocator {
 public:
  using value_type = T;

  PageAllocator() noexcept = default;
  template <class U>
  explicit PageAllocator(const PageAllocator<U>& /*other*/) noexcept {}

  T* allocate(std::size_t n) {
    void* p = ::mmap(nullptr, Bytes(n), PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED) throw std::bad_alloc();
    return static_cast<T*>(p);
  }
  void deallocate(T* p, std::size_t n) noexcept { ::munmap(p, Bytes(n)); }

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
