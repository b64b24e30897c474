// The delay-load helper of the Windows prebuild (scripts/prebuild-all.mjs; not part of node-gyp
// builds, which bring MSVC's helper and node-gyp's hook).
//
// Why: the addon imports the Node-API functions from the process that loads it. The import
// library made from node-api-headers' def/node_api.def names NODE.EXE, so with plain imports the
// addon would load only in a host named node.exe. The prebuild links a delay-import library
// (binutils' `dlltool -y`) instead: every import goes through this helper on its first call,
// which resolves it in the host executable, whatever its name (then node.dll/libnode.dll, for
// hosts that embed Node as a library).
//
// Why our own helper: mingw-w64's __delayLoadHelper2 stores into the import address table
// without making it writable, and lld places that table in a read-only section, so the first
// call would fault. This one changes the page protection around the store, under a lock, since
// two threads may resolve imports on the same page at once.
//
// Why every import is resolved when the addon loads: dlltool's x86-64 delay thunk saves the
// integer argument registers but not xmm0-xmm3, so a function whose first call passes a double
// (napi_create_double) would receive whatever the helper left there. Resolving all of them in a
// static initializer (run from DllMain, where GetModuleHandle/GetProcAddress are allowed) means
// no thunk is ever taken; the lazy path stays only for a function the host lacks.
#ifdef _WIN32

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#include <windows.h>

#include <cstdint>
#include <cstdio>

extern "C" IMAGE_DOS_HEADER __ImageBase;

namespace {

// The PE delay-load descriptor (IMAGE_DELAYLOAD_DESCRIPTOR): RVAs when attribute bit 0 is set,
// else (an old format) virtual addresses.
struct DelayDescriptor {
  DWORD attributes;
  DWORD dll_name;
  DWORD module_handle;
  DWORD import_address_table;
  DWORD import_name_table;
  DWORD bound_import_address_table;
  DWORD unload_import_address_table;
  DWORD time_stamp;
};

SRWLOCK g_patch_lock = SRWLOCK_INIT;

template <class T>
T* At(const DelayDescriptor* d, DWORD value) {
  auto* base = reinterpret_cast<uint8_t*>(&__ImageBase);
  if ((d->attributes & 1) != 0) return reinterpret_cast<T*>(base + value);
  return reinterpret_cast<T*>(static_cast<uintptr_t>(value));
}

FARPROC Resolve(const char* name) {
  const HMODULE hosts[] = {GetModuleHandleW(nullptr), GetModuleHandleW(L"node.dll"),
                           GetModuleHandleW(L"libnode.dll")};
  for (HMODULE host : hosts) {
    if (host == nullptr) continue;
    if (FARPROC f = GetProcAddress(host, name)) return f;
  }
  return nullptr;
}

void Patch(FARPROC* slot, FARPROC f) {
  AcquireSRWLockExclusive(&g_patch_lock);
  DWORD old = 0;
  if (VirtualProtect(slot, sizeof *slot, PAGE_READWRITE, &old)) {
    *slot = f;
    VirtualProtect(slot, sizeof *slot, old, &old);
  }
  ReleaseSRWLockExclusive(&g_patch_lock);
}

}  // namespace

// The descriptor of the delay-import library, named by dlltool after the library's file name
// (node_api_delay.a, made by scripts/prebuild-all.mjs).
extern "C" const DelayDescriptor __DELAY_IMPORT_DESCRIPTOR_node_api_delay_a;

namespace {

struct ResolveAllAtLoad {
  ResolveAllAtLoad() {
    const DelayDescriptor* d = &__DELAY_IMPORT_DESCRIPTOR_node_api_delay_a;
    auto* iat = At<IMAGE_THUNK_DATA>(d, d->import_address_table);
    auto* names = At<IMAGE_THUNK_DATA>(d, d->import_name_table);
    for (size_t i = 0; names[i].u1.AddressOfData != 0; ++i) {
      if (IMAGE_SNAP_BY_ORDINAL(names[i].u1.Ordinal)) continue;
      const auto* by_name =
          At<IMAGE_IMPORT_BY_NAME>(d, static_cast<DWORD>(names[i].u1.AddressOfData));
      FARPROC f = Resolve(reinterpret_cast<const char*>(by_name->Name));
      if (f != nullptr) Patch(reinterpret_cast<FARPROC*>(&iat[i]), f);
    }
  }
};

const ResolveAllAtLoad resolve_all_at_load;

}  // namespace

extern "C" FARPROC WINAPI __delayLoadHelper2(const DelayDescriptor* d, FARPROC* slot) {
  auto* iat = At<IMAGE_THUNK_DATA>(d, d->import_address_table);
  auto* names = At<IMAGE_THUNK_DATA>(d, d->import_name_table);
  const size_t index = static_cast<size_t>(reinterpret_cast<IMAGE_THUNK_DATA*>(slot) - iat);
  const IMAGE_THUNK_DATA& entry = names[index];
  FARPROC f = nullptr;
  char ordinal_name[32];
  const char* name = ordinal_name;
  if (IMAGE_SNAP_BY_ORDINAL(entry.u1.Ordinal)) {
    std::snprintf(ordinal_name, sizeof ordinal_name, "#%u",
                  static_cast<unsigned>(IMAGE_ORDINAL(entry.u1.Ordinal)));
  } else {
    name = reinterpret_cast<const char*>(
        At<IMAGE_IMPORT_BY_NAME>(d, static_cast<DWORD>(entry.u1.AddressOfData))->Name);
    f = Resolve(name);
  }
  if (f == nullptr) {
    // No Node-API in this process: nothing sensible to return to the caller.
    std::fprintf(stderr, "annals: the host process exports no %s (not a Node.js process?)\n", name);
    std::fflush(stderr);
    RaiseException(static_cast<DWORD>(0xC06D007F), EXCEPTION_NONCONTINUABLE, 0, nullptr);
  }
  Patch(slot, f);
  return f;
}

#endif  // _WIN32
