// Runs the data log's flush jobs (ChunkLog::RunFlush) in order on one thread of its own.
//
// Why not the libuv pool: handing a job to a sleeping pool thread costs the JS thread a futex wake
// (on the bench VM an inter-processor interrupt, a quarter of the JS thread's CPU time in single
// durable appends) and the job the thread's wake-up latency (18-100 us). So after each job this
// thread keeps polling for the next one for kSpinMicros before it sleeps: a caller appending one
// event at a time submits its next flush within that window, and Submit then takes no system call.
// The thread sleeps on a condition variable when idle, so an idle store costs no CPU.
//
// Invariants: jobs run one at a time in submission order, and `done` is called for each, in the
// same order, on this thread. The destructor runs every job already submitted, then joins.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

#include "chunk_log.h"

namespace annals {

struct FlushOutcome {
  bool ok = true;
  std::string code;     // StoreError code when !ok
  std::string message;  // when !ok
};

class Flusher {
 public:
  static constexpr int64_t kSpinMicros = 200;

  explicit Flusher(std::function<void(const FlushOutcome&)> done);
  ~Flusher();
  Flusher(const Flusher&) = delete;
  Flusher& operator=(const Flusher&) = delete;

  void Submit(FlushJob job);

 private:
  void Run();
  // The next job, waiting for one; false once stopping with none left.
  bool Take(FlushJob* job);

  std::function<void(const FlushOutcome&)> done_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<FlushJob> queue_;       // guarded by mu_
  bool sleeping_ = false;            // guarded by mu_: Submit must notify
  bool stop_ = false;                // guarded by mu_
  std::atomic<uint32_t> queued_{0};  // queue_.size(), for the polling that takes no lock
  std::thread thread_;               // last: starts after the members it uses exist
};

}  // namespace annals
