#include <unistd.h>

#include <cstdlib>
#include <filesystem>

#include "test_framework.h"

namespace annals::test {

namespace {
int g_failures_in_test = 0;
std::vector<std::string> g_temp_dirs;
}  // namespace

std::vector<TestCase>& Registry() {
  static std::vector<TestCase> tests;
  return tests;
}

void RecordFailure(const char* file, int line, const std::string& what) {
  ++g_failures_in_test;
  std::fprintf(stderr, "  %s:%d: CHECK failed: %s\n", file, line, what.c_str());
}

std::string TempDir() {
  std::string pattern = (std::filesystem::temp_directory_path() / "annals-native-XXXXXX").string();
  if (::mkdtemp(pattern.data()) == nullptr) std::abort();
  g_temp_dirs.push_back(pattern);
  return pattern;
}

}  // namespace annals::test

int main() {
  using namespace annals::test;
  int passed = 0;
  int failed = 0;
  for (const TestCase& t : Registry()) {
    g_failures_in_test = 0;
    try {
      t.fn();
    } catch (const std::exception& e) {
      RecordFailure(t.name, 0, std::string("unexpected exception: ") + e.what());
    }
    std::printf("%s %s\n", g_failures_in_test == 0 ? "ok  " : "FAIL", t.name);
    (g_failures_in_test == 0 ? passed : failed)++;
  }
  for (const auto& d : g_temp_dirs) std::filesystem::remove_all(d);
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}
