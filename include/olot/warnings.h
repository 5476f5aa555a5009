// Warnings and notes on stderr ("olot-filter: warning: ..."), honouring -q.
#pragma once

#include <string>

namespace olot {

class Warnings {
 public:
  explicit Warnings(int verbosity) : verbosity_(verbosity) {}
  void warn(const std::string& message);      // shown unless verbosity < -1
  void note(const std::string& message);      // hidden by -q
  void verbose(const std::string& message);   // shown with -v
  int count() const { return count_; }

 private:
  int verbosity_;
  int count_ = 0;
};

}  // namespace olot
