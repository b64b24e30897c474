// A minimal test harness for the native core (no downloads, no dependencies): TEST registers a
// function, CHECK records a failure and continues, main runs everything and prints the tally as
// "N passed, N failed" for .ci/run.
#pragma once

#include <cstdio>
#include <functional>
#include <string>
#include <vector>

namespace annals::test {

struct TestCase {
  const char* name;
  std::function<void()> fn;
};

std::vector<TestCase>& Registry();
void RecordFailure(const char* file, int line, const std::string& what);
std::string TempDir();

struct Registrar {
  Registrar(const char* name, std::function<void()> fn) {
    Registry().push_back({name, std::move(fn)});
  }
};

}  // namespace annals::test

#define ANNALS_CAT2(a, b) a##b
#define ANNALS_CAT(a, b) ANNALS_CAT2(a, b)
#define TEST(name)                                                            \
  static void name();                                                         \
  static ::annals::test::Registrar ANNALS_CAT(registrar_, name)(#name, name); \
  static void name()
#define CHECK(cond)                                                        \
  do {                                                                     \
    if (!(cond)) ::annals::test::RecordFailure(__FILE__, __LINE__, #cond); \
  } while (0)
#define CHECK_EQ(a, b) CHECK((a) == (b))
#define CHECK_THROWS_CODE(expr, expected_code)                                   \
  do {                                                                           \
    std::string got_ = "no exception";                                           \
    try {                                                                        \
      expr;                                                                      \
    } catch (const ::annals::StoreError& e_) {                                   \
      got_ = e_.code();                                                          \
    }                                                                            \
    if (got_ != (expected_code))                                                 \
      ::annals::test::RecordFailure(__FILE__, __LINE__, #expr " threw " + got_); \
  } while (0)
