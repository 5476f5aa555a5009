#include "olot/warnings.h"

#include <cstdio>

namespace olot {

void Warnings::warn(const std::string& message) {
  ++count_;
  if (verbosity_ >= -1) std::fprintf(stderr, "olot-filter: warning: %s\n", message.c_str());
}

void Warnings::note(const std::string& message) {
  if (verbosity_ >= 0) std::fprintf(stderr, "olot-filter: %s\n", message.c_str());
}

void Warnings::verbose(const std::string& message) {
  if (verbosity_ > 0) std::fprintf(stderr, "olot-filter: %s\n", message.c_str());
}

}  // namespace olot
