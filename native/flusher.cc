#include "flusher.h"

#include <chrono>
#include <utility>

#include "env.h"
#include "store_error.h"

namespace annals {

Flusher::Flusher(std::function<void(const FlushOutcome&)> done)
    : done_(std::move(done)), thread_([this] { Run(); }) {}

Flusher::~Flusher() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_one();
  thread_.join();
}

void Flusher::Submit(FlushJob job) {
  bool wake;
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(job));
    queued_.fetch_add(1, std::memory_order_release);
    wake = sleeping_;
  }
  if (wake) cv_.notify_one();
}

bool Flusher::Take(FlushJob* job) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::microseconds(kSpinMicros);
  while (queued_.load(std::memory_order_acquire) == 0 && std::chrono::steady_clock::now() < until) {
    CpuRelax();
  }
  std::unique_lock<std::mutex> lock(mu_);
  while (queue_.empty() && !stop_) {
    sleeping_ = true;
    cv_.wait(lock);
    sleeping_ = false;
  }
  if (queue_.empty()) return false;
  *job = std::move(queue_.front());
  queue_.pop_front();
  queued_.fetch_sub(1, std::memory_order_relaxed);
  return true;
}

void Flusher::Run() {
  FlushJob job;
  while (Take(&job)) {
    FlushOutcome outcome;
    try {
      ChunkLog::RunFlush(job);
    } catch (const StoreError& e) {
      outcome = {false, e.code(), e.what()};
    } catch (const std::exception& e) {
      outcome = {false, "IO", e.what()};
    }
    job = FlushJob{};  // drop the descriptors before reporting
    done_(outcome);
  }
}

}  // namespace annals
