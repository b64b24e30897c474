// The data log: the ordered set of chunk files of one store, its append position and its recovery.
//
// Positions are global: chunk_number * chunk_size + offset of the frame in its chunk. Every chunk
// but the last is sealed; the last one is written with pwrite and read through its mapping. Callers
// (the TypeScript LogWriter) decide placement themselves, because they must know positions before
// encoding the back-pointers; Append checks that placement and refuses any other, so a bug can
// never write a frame where the log does not end.
//
// Threading: everything runs on the JS thread except RunFlush, which only touches the descriptors
// of the tail chunk and the checkpoint through the shared pointers captured in its FlushJob.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "chunk_file.h"
#include "file_util.h"
#include "mapped_chunks.h"

namespace annals {

struct RecoveryReport {
  uint64_t end_position = 0;  // where the next frame goes (a chunk's first data offset at a seal)
  uint32_t generation = 0;    // this session's frame generation
  uint32_t chunk_count = 0;
  bool torn = false;             // a torn tail was found (and, when writable, cut)
  uint64_t torn_position = 0;    // where the valid log ended
  uint64_t discarded_bytes = 0;  // bytes of frames dropped after it (at least)
  std::string torn_reason;
  // The store identity (chunk_format.h), and the first chunk whose header carries it: frames may
  // derive their event ids from it only from that chunk on. 0 when a read-only log has none.
  uint32_t identity = 0;
  uint64_t identity_chunk = 0;
  // Positions of damaged records the tail's recovery kept (valid records follow them): refused
  // when read, skipped and reported by the index replay.
  std::vector<uint64_t> damaged;
};

// What ChunkLog::Follow found (chunk_log_follow.cc).
struct FollowReport {
  uint64_t end_position = 0;  // the end readers may see now
  uint64_t damaged = 0;       // a damaged record's position below the checkpoint (0: none)
  std::string error;          // why the end stopped short of the checkpoint (empty: it did not)
};

struct FlushJob {
  std::shared_ptr<FileDescriptor> data;  // the tail chunk; null when nothing was written since
  uint64_t end_position = 0;
  uint32_t generation = 0;
  uint32_t tail_records = 0;
  uint32_t tail_checksum = 0;
  std::shared_ptr<FileDescriptor> checkpoint;
};

class ChunkLog {
 public:
  // `mapped_window`: the address space sealed chunks' mappings may take (mapped_chunks.h).
  ChunkLog(std::string dir, uint64_t chunk_size, bool read_only,
           uint64_t mapped_window = MappedChunks::kMappedWindowBytes);

  // Opens the log and recovers its tail. `fresh_identity` (in [1, kStoreIdentityLimit)) becomes the
  // store identity, written into chunks created from now on, when the tail chunk carries none.
  // `durable_floor`: a position the log is known durable up to (the index covers it); a writable
  // open whose records end below it refuses (StoreError(CORRUPTION)) and changes nothing.
  RecoveryReport Open(uint32_t fresh_identity, uint64_t durable_floor = 0);

  // Appends `count` whole transactions from `buf`, frames encoded with blank CRC and generation
  // fields (stamped here). starts[i] is the position transaction i must land at, ends[i] its end
  // offset in `buf`. All transactions go into one chunk; the first may open the next chunk, which
  // seals the current one. Throws StoreError with nothing written when the placement is wrong or a
  // new chunk cannot be created.
  void Append(uint8_t* buf, size_t len, const double* starts, const uint32_t* ends, size_t count);

  // Captures what the next flush must make durable; RunFlush does it (on a worker thread).
  FlushJob PrepareFlush();
  static void RunFlush(const FlushJob& job);

  // Copies the frames at `positions` out, each verified; throws StoreError otherwise. (Reads them
  // twice: a convenience for tests and tools; the addon uses ReadFramesInto.)
  std::vector<uint8_t> ReadFrames(const double* positions, size_t count);
  // The same frames copied into `out` when they fit in `capacity` bytes; returns the bytes they
  // take either way (the caller retries with a bigger buffer when that exceeds its capacity).
  size_t ReadFramesInto(const double* positions, size_t count, uint8_t* out, size_t capacity);

  // Copies whole frames from `from` (a frame position or a chunk's first data offset) while below
  // `limit`, at most `max_bytes` unless the first frame alone is larger, never from two chunks.
  // Stops before a damaged frame; throws StoreError(CORRUPTION) when the first one is damaged.
  // Returns the next position; the frames copied are the `out->size()` bytes that end there.
  uint64_t Scan(uint64_t from, uint64_t limit, size_t max_bytes, std::vector<uint8_t>* out);

  // Where the log goes on after the damaged frame at `position`: the next frame of its chunk that
  // is valid on its own (FindNextFrame), else the next chunk's first position, else the end.
  uint64_t SkipDamaged(uint64_t position);

  // A read-only log catches up with the writer: moves its end to the position the writer's
  // checkpoint says is durable, once every frame up to there is checked, opening the chunks
  // created since (chunk_log_follow.cc).
  FollowReport Follow();

  // Unmaps sealed chunk `number` if it is mapped: a scavenge renamed a new file over it, which the
  // log is never asked to read (lib/engine/scavenged-log.ts), so the old file's space is freed now.
  // Reads return copies, so no buffer refers to the mapping.
  void Forget(uint64_t number);

  // Makes everything durable, writes a synced checkpoint; the log is unusable afterwards.
  void Close();

  uint64_t end_position() const;
  uint32_t chunk_count() const { return static_cast<uint32_t>(chunks_.size()); }
  uint64_t chunk_size() const { return chunk_size_; }

 private:
  uint64_t DataLimit(const ChunkFile& chunk) const;
  const uint8_t* VerifiedFrame(uint64_t position);
  // Hints the CPU to load the start of the frame at `position` if its chunk is mapped (no checks
  // beyond staying inside the mapping: VerifiedFrame does those when the frame is read).
  void Prefetch(double position) const;
  // Chunk `number`, mapped: sealed chunks are mapped on demand and the least recently read beyond
  // the mapped window (mapped_chunks.h) are unmapped again, which bounds the address space and the
  // page tables a large store takes.
  const ChunkFile& Readable(uint64_t number);
  void UnmapExcess();
  void RollOver();
  // Follow's step past a tail chunk the writer has sealed: false (with the report's error) when
  // its footer or frames are not as the writer left them.
  bool SealFollowedTail(FollowReport* report);
  // Keeps the tail chunk zero-filled ahead of `data_end` (see kZeroAheadBytes in chunk_log.cc).
  void ZeroAhead(uint64_t data_end);
  void WriteCheckpoint(uint64_t durable_end, bool sync);
  // After a write into the tail failed at `offset`: cuts what it left (see chunk_log.cc).
  void UndoFailedWrite(uint64_t offset);

  std::string dir_;
  uint64_t chunk_size_;
  bool read_only_;
  bool open_ = false;
  std::vector<std::unique_ptr<ChunkFile>> chunks_;
  MappedChunks mapped_;  // the sealed chunks mapped now
  std::shared_ptr<FileDescriptor> checkpoint_;
  uint32_t generation_ = 0;
  uint32_t identity_ = 0;
  // State of the last chunk while it is writable.
  uint64_t write_offset_ = 0;
  uint64_t flushed_offset_ = 0;
  uint64_t zeroed_end_ = 0;  // bytes of the tail below this are written: data or our zeroes
  uint32_t record_count_ = 0;
  uint32_t data_checksum_ = 0;
  // Set when a failed write could not be undone: every later append fails with it.
  std::string failed_;
};

}  // namespace annals
