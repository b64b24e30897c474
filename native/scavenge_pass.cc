// The native scavenge pass (scavenge_pass.h). Layouts read here: the frame header (length u32, CRC
// u32 over [8, length), kind, flags, 6 reserved) and the event bodies' headers of both record
// kinds, as lib/format/record-decode.ts readHeader and record-body-v1.ts decode them.
#include "scavenge_pass.h"

#include <algorithm>
#include <chrono>
#include <cstring>
#include <memory>
#include <thread>

#include "crc32c.h"
#include "env.h"
#include "scavenge_output.h"
#include "store_error.h"

namespace annals {
namespace {

constexpr uint64_t kChunkHeaderSize = 64;
constexpr uint32_t kFrameHeaderSize = 16;
constexpr uint8_t kKindEventV1 = 1;
constexpr uint8_t kKindEvent = 2;
// Body flags (lib/format/record-codec.ts).
constexpr uint8_t kDataAbsent = 4;
constexpr uint8_t kMetaAbsent = 8;
constexpr uint8_t kIdUuid16 = 16;
constexpr uint8_t kHasCommand = 32;
constexpr uint8_t kIdDerived = 64;
constexpr uint8_t kKnownFlags = 127;
constexpr uint32_t kBodyFixedSize = 17;
constexpr uint32_t kBodyV1FixedSize = 40;
// Bytes examined between two looks at the stop flag and the pace.
constexpr uint64_t kStepBytes = 1 << 20;
uint32_t U32(const uint8_t* p) {
  uint32_t v;
  std::memcpy(&v, p, 4);
  return v;  // little-endian hosts only, as the rest of the core
}
uint32_t U16(const uint8_t* p) {
  return static_cast<uint32_t>(p[0]) | (static_cast<uint32_t>(p[1]) << 8);
}

// The seeds of the two hashes of a 48-bit key (lib/format/key-hash.ts).
constexpr uint32_t kSeedHi = 0x9747b28cu;
constexpr uint32_t kSeedLo = 0x2f5d3a1bu;

uint32_t Scramble(uint32_t k) {
  k *= 0xcc9e2d51u;
  k = (k << 15) | (k >> 17);
  return k * 0x1b873593u;
}

uint32_t Murmur3(const uint8_t* bytes, size_t len, uint32_t seed) {
  uint32_t h = seed;
  const size_t blocks = len & ~static_cast<size_t>(3);
  for (size_t i = 0; i < blocks; i += 4) {
    h ^= Scramble(U32(bytes + i));
    h = (h << 13) | (h >> 19);
    h = h * 5 + 0xe6546b64u;
  }
  uint32_t k = 0;
  for (size_t i = len & 3; i > 0; i--)
    k ^= static_cast<uint32_t>(bytes[blocks + i - 1]) << (8 * (i - 1));
  if ((len & 3) != 0) h ^= Scramble(k);
  h ^= static_cast<uint32_t>(len);
  h ^= h >> 16;
  h *= 0x85ebca6bu;
  h ^= h >> 13;
  h *= 0xc2b2ae35u;
  h ^= h >> 16;
  return h;
}

// The fields a frame is judged by; `ok` false when its body does not decode (then it is kept).
struct Fields {
  bool ok = false;
  double version = 0;
  double timestamp = 0;
  const uint8_t* id = nullptr;
  uint32_t id_len = 0;
  // The command id's bytes (length 0: none).
  const uint8_t* command = nullptr;
  uint32_t command_len = 0;
};

// Reads a varint of at most five bytes within [*p, end); false past either bound.
bool Varint(const uint8_t** p, const uint8_t* end, uint64_t* out) {
  uint64_t v = 0;
  for (int i = 0; i < 5 && *p < end; i++) {
    const uint8_t byte = *(*p)++;
    v |= static_cast<uint64_t>(byte & 0x7f) << (7 * i);
    if (byte < 0x80) {
      *out = v;
      return true;
    }
  }
  return false;
}

Fields Decode(const uint8_t* frame, uint32_t len) {
  Fields f;
  const uint8_t* b = frame + kFrameHeaderSize;
  const uint8_t* end = frame + len;
  uint64_t lens[6] = {0, 0, 0, 0, 0, 0};
  const uint8_t* fields;
  if (frame[8] == kKindEvent) {
    if (len < kFrameHeaderSize + kBodyFixedSize) return f;
    f.timestamp = U32(b + 6) + static_cast<double>(U16(b + 10)) * 4294967296.0;
    f.version = U32(b + 12);
    const uint8_t flags = b[16];
    if ((flags & ~kKnownFlags) != 0 || ((flags & kIdUuid16) != 0 && (flags & kIdDerived) != 0))
      return f;
    const uint8_t* p = b + kBodyFixedSize;
    if (!Varint(&p, end, &lens[0]) || !Varint(&p, end, &lens[1])) return f;
    if ((flags & kIdUuid16) != 0)
      lens[2] = 16;
    else if ((flags & kIdDerived) == 0 && !Varint(&p, end, &lens[2]))
      return f;
    if ((flags & kHasCommand) != 0 && !Varint(&p, end, &lens[3])) return f;
    if ((flags & kDataAbsent) == 0 && !Varint(&p, end, &lens[4])) return f;
    if ((flags & kMetaAbsent) == 0 && !Varint(&p, end, &lens[5])) return f;
    fields = p;
  } else {
    if (len < kFrameHeaderSize + kBodyV1FixedSize) return f;
    f.version = U32(b + 16);
    lens[0] = U16(b + 20);
    lens[1] = U16(b + 22);
    lens[2] = U16(b + 24);
    lens[3] = U16(b + 26);
    lens[4] = U32(b + 28);
    lens[5] = U32(b + 32);
    f.timestamp = U32(b + 8) + static_cast<double>(U16(b + 12)) * 4294967296.0;
    fields = b + kBodyV1FixedSize;
  }
  uint64_t total = static_cast<uint64_t>(fields - frame);
  for (uint64_t l : lens) total += l;
  if (total != len) return f;
  f.ok = true;
  f.id = fields;
  f.id_len = static_cast<uint32_t>(lens[0]);
  f.command = fields + lens[0] + lens[1] + lens[2];
  f.command_len = static_cast<uint32_t>(lens[3]);
  return f;
}

class Walk {
 public:
  Walk(const ScavengePassInput& in, const uint8_t* data) : in_(in), data_(data) {}

  ScavengePassOutput Run() {
    const auto started = std::chrono::steady_clock::now() -
                         std::chrono::duration_cast<std::chrono::steady_clock::duration>(
                             std::chrono::duration<double>(in_.paced_seconds_ago));
    uint64_t at = kChunkHeaderSize;
    uint64_t next_step = at + kStepBytes;
    uint32_t chain = 0;
    int64_t frames = 0;
    out_.out_end = kChunkHeaderSize;
    while (at < in_.end) {
      if (at >= next_step) {
        next_step = at + kStepBytes;
        if (Stopped() || Pace(started, at - kChunkHeaderSize)) {
          out_.examined = at - kChunkHeaderSize;
          out_.stopped = true;
          return std::move(out_);
        }
      }
      const uint8_t* frame = data_ + at;
      const uint32_t len = in_.end - at >= kFrameHeaderSize ? U32(frame) : 0;
      if (len < kFrameHeaderSize || at + len > in_.end ||
          (frame[8] != kKindEvent && frame[8] != kKindEventV1)) {
        out_.damaged = true;
        break;
      }
      chain = Crc32c(chain, frame, 8);
      frames++;
      if (!Judge(frame, len, at)) break;
      at += len;
    }
    out_.examined = at - kChunkHeaderSize;
    if (Stopped() || Pace(started, out_.examined)) {
      out_.stopped = true;
      return std::move(out_);
    }
    if (!out_.damaged &&
        (chain != in_.data_checksum || (in_.records >= 0 && frames != in_.records)))
      out_.damaged = true;
    if (!asking_ && !out_.damaged && out_.removed > 0) {
      Flush(at);
      output_->Drain();
      output_->Sync();
    }
    if (asking_) {
      out_.ask.assign(ask_set_.begin(), ask_set_.end());
      out_.logical.clear();
      out_.offsets.clear();
    }
    return std::move(out_);
  }

 private:
  bool Stopped() const {
    return in_.stop != nullptr && __atomic_load_n(in_.stop, __ATOMIC_RELAXED) != 0;
  }

  // Sleeps until `examined` bytes are due under the bound; true when a stop came meanwhile.
  bool Pace(std::chrono::steady_clock::time_point started, uint64_t examined) {
    if (in_.max_bytes_per_second <= 0) return false;
    const auto due =
        started +
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(
            std::chrono::duration<double>((in_.paced_bytes + examined) / in_.max_bytes_per_second));
    while (std::chrono::steady_clock::now() < due) {
      if (Stopped()) return true;
      const std::chrono::steady_clock::duration left = due - std::chrono::steady_clock::now();
      std::this_thread::sleep_for(
          std::min<std::chrono::steady_clock::duration>(left, std::chrono::milliseconds(50)));
    }
    return false;
  }

  uint32_t LogicalOf(uint64_t at) {
    if (in_.run_offsets.empty()) return static_cast<uint32_t>(at);
    while (run_ + 1 < in_.run_offsets.size() && in_.run_offsets[run_ + 1] <= at) run_++;
    return in_.run_logical[run_] + static_cast<uint32_t>(at - in_.run_offsets[run_]);
  }

  // Judges the frame at file offset `at`; false: the walk stops (a damaged frame).
  bool Judge(const uint8_t* frame, uint32_t len, uint64_t at) {
    const uint32_t logical = LogicalOf(at);
    const Fields f = Decode(frame, len);
    const ScavengeRule* rule = nullptr;
    std::string id;
    if (f.ok && in_.keys.count(KeyNumberOf(f.id, f.id_len)) != 0) {
      id.assign(reinterpret_cast<const char*>(f.id), f.id_len);
      auto it = in_.rules.find(id);
      if (it == in_.rules.end()) {
        // Not judgeable here: gather the ids to ask, write nothing more.
        asking_ = true;
        ask_set_.insert(id);
        return true;
      }
      rule = &it->second;
    }
    if (asking_) return true;
    const bool remove = rule != nullptr && !rule->none &&
                        (f.version < rule->from || f.timestamp < rule->min_timestamp);
    if (!remove) {
      if (rule != nullptr && !rule->none) AddSurvivor(id, in_.base + logical, f.version);
      out_.logical.push_back(logical);
      out_.offsets.push_back(static_cast<uint32_t>(out_.out_end));
      out_.checksum = Crc32c(out_.checksum, frame, 8);
      out_.out_end += len;
      return true;
    }
    if (U32(frame + 4) != Crc32c(frame + 8, len - 8)) {
      out_.damaged = true;
      return false;
    }
    Flush(at);
    kept_from_ = at + len;
    out_.removed++;
    if (f.command_len > 0) {
      out_.erased_logical.push_back(logical);
      out_.erased_hi.push_back(Murmur3(f.command, f.command_len, kSeedHi) & 0xffffu);
      out_.erased_lo.push_back(Murmur3(f.command, f.command_len, kSeedLo));
    }
    return true;
  }

  // Copies the kept frames of [kept_from_, to) into the output.
  void Flush(uint64_t to) {
    if (!output_) output_ = std::make_unique<ScavengeOutput>(in_.tmp, in_.chunk_size);
    if (to <= kept_from_) return;
    output_->Copy(data_ + kept_from_, to - kept_from_);
    kept_from_ = to;
  }

  void AddSurvivor(const std::string& id, double position, double version) {
    auto it = survivor_index_.find(id);
    if (it == survivor_index_.end()) {
      it = survivor_index_.emplace(id, static_cast<uint32_t>(out_.survivor_ids.size())).first;
      out_.survivor_ids.push_back(id);
    }
    out_.survivor_of.push_back(it->second);
    out_.survivor_positions.push_back(position);
    out_.survivor_versions.push_back(version);
  }

  const ScavengePassInput& in_;
  const uint8_t* data_;
  ScavengePassOutput out_;
  std::unique_ptr<ScavengeOutput> output_;
  // The first kept byte not yet copied.
  uint64_t kept_from_ = kChunkHeaderSize;
  size_t run_ = 0;
  bool asking_ = false;
  std::unordered_set<std::string> ask_set_;
  std::unordered_map<std::string, uint32_t> survivor_index_;
};

}  // namespace

uint64_t KeyNumberOf(const uint8_t* bytes, size_t len) {
  const uint64_t hi = Murmur3(bytes, len, kSeedHi) & 0xffffu;
  return (hi << 32) + Murmur3(bytes, len, kSeedLo);
}

ScavengePassOutput RunScavengePass(const ScavengePassInput& in) {
  if (in.end < kChunkHeaderSize || in.end > in.chunk_size)
    throw StoreError("CORRUPTION", "chunk " + in.file + ": invalid data end");
  FileDescriptor fd = FileDescriptor::Open(in.file, OpenMode::kRead);
  if (FileSize(fd, in.file) < in.chunk_size)
    throw StoreError("CORRUPTION", "chunk " + in.file + " is shorter than a chunk");
  Mapping map = Mapping::Map(fd, static_cast<size_t>(in.end));
  Walk walk(in, map.data());
  return walk.Run();
}

}  // namespace annals
