// Helpers shared by the unit tests.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "olot/error.h"

namespace olot::testing {

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
