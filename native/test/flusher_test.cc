#include "../flusher.h"

#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "test_framework.h"

using namespace annals;

namespace {

std::shared_ptr<FileDescriptor> TempFile() {
  const std::string path = annals::test::TempDir() + "/f";
  return std::make_shared<FileDescriptor>(FileDescriptor::Open(path, OpenMode::kReadWriteCreate));
}

struct Outcomes {
  std::mutex mu;
  std::vector<FlushOutcome> seen;
  void Add(const FlushOutcome& o) {
    std::lock_guard<std::mutex> lock(mu);
    seen.push_back(o);
  }
};

}  // namespace

TEST(FlusherRunsEveryJobInOrderAndDrainsOnDestruction) {
  auto file = TempFile();
  CHECK(file->valid());
  Outcomes outcomes;
  {
    Flusher flusher([&](const FlushOutcome& o) { outcomes.Add(o); });
    for (int i = 0; i < 50; ++i) {
      FlushJob job;
      job.data = file;
      flusher.Submit(std::move(job));
    }
    // A failing job in the middle (a sync of a closed descriptor) reports its error and does
    // not stop the jobs after it.
    FlushJob bad;
    bad.data = std::make_shared<FileDescriptor>();
    flusher.Submit(std::move(bad));
    for (int i = 0; i < 50; ++i) flusher.Submit(FlushJob{});
  }  // the destructor runs all 101 before joining
  CHECK_EQ(outcomes.seen.size(), 101u);
  for (size_t i = 0; i < outcomes.seen.size(); ++i) CHECK_EQ(outcomes.seen[i].ok, i != 50);
  CHECK(!outcomes.seen[50].message.empty());
}

TEST(FlusherWakesFromSleepForAJobSubmittedLater) {
  auto file = TempFile();
  Outcomes outcomes;
  {
    Flusher flusher([&](const FlushOutcome& o) { outcomes.Add(o); });
    FlushJob first;
    first.data = file;
    flusher.Submit(std::move(first));
    // Well past the spin window: the thread is asleep on its condition variable by now.
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    FlushJob second;
    second.data = file;
    flusher.Submit(std::move(second));
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(outcomes.mu);
        if (outcomes.seen.size() == 2) break;
      }
      if (std::chrono::steady_clock::now() > deadline) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    std::lock_guard<std::mutex> lock(outcomes.mu);
    CHECK_EQ(outcomes.seen.size(), 2u);  // before the destructor: the wake-up delivered it
  }
}
