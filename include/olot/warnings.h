// Warnings and notes on stderr ("olot-filter: warning: ..."), honouring -q.
#pragma once

#include <string>

namespace olot {

class Progress;

class Warnings {
 public:
  explicit Warnings(int verbosity) : verbosity_(verbosity) {}
  // Messages then go above the progress line instead of through it.
  void attach(Progress* progress) { progress_ = progress; }
  void warn(const std::string& message);      // shown unless verbosity < -1
  void note(const std::string& message);      // hidden by -q
  void verbose(const std::string& message);   // shown with -v
  int count() const { return count_; }

 private:
  void print(const std::string& line);
  int verbosity_;
  int count_ = 0;
  Progress* progress_ = nullptr;
};

}  // namespace olot
