// Helpers shared by the unit tests.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "olot/byte_sink.h"
#include "olot/error.h"

namespace olot::testing {

// Collects everything written to it.
class StringSink final : public ByteSink {
 public:
  void write(const void* data, size_t size) override { bytes.append(static_cast<const char*>(data), size); }
  using ByteSink::write;
  std::string bytes;
};

// Runs `fn`, expecting an olot::Error with `code` whose message contains `text`.
template <typename Fn>
void expect_error(Fn fn, Exit code, const std::string& text) {
  try {
    fn();
    ADD_FAILURE() << "no error thrown, expected: " << text;
  } catch (const Error& e) {
    EXPECT_EQ(e.code(), code) << e.what();
    EXPECT_NE(std::string(e.what()).find(text), std::string::npos) << e.what();
  }
}

}  // namespace olot::testing
