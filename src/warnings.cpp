#include "olot/warnings.h"

#include <cstdio>

#include "olot/progress.h"

namespace olot {

void Warnings::print(const std::string& line) {
  if (progress_)
    progress_->print_above(line + "\n");
  else
    std::fputs((line + "\n").c_str(), stderr);
}

void Warnings::warn(const std::string& message) {
  ++count_;
  if (verbosity_ >= -1) print("olot-filter: warning: " + message);
}

void Warnings::note(const std::string& message) {
  if (verbosity_ >= 0) print("olot-filter: " + message);
}

void Warnings::verbose(const std::string& message) {
  if (verbosity_ > 0) print("olot-filter: " + message);
}

}  // namespace olot
