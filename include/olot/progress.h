// The --progress meter (SPEC §2): the stages bump counters, a thread of its
// own redraws one status line on stderr (never stdout, which carries the tar)
// at most four times a second, so a slow terminal never slows the stream.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>

#include "olot/byte_sink.h"

namespace olot {

class Progress {
 public:
  // enabled=false: everything is a no-op and no thread runs. total_input is
  // the input size in bytes if known (for the ETA), else 0. `out` is where the
  // line is drawn: stderr in the tool, a tmpfile or pipe in tests.
  Progress(bool enabled, uint64_t total_input, std::FILE* out = stderr);
  ~Progress();  // finish()
  Progress(const Progress&) = delete;
  Progress& operator=(const Progress&) = delete;

  // Relaxed atomics: called per buffer on the hot path, read only by the drawer.
  void add_in(uint64_t n) {
    if (enabled_) in_.fetch_add(n, std::memory_order_relaxed);
  }
  void add_out(uint64_t n) {
    if (enabled_) out_bytes_.fetch_add(n, std::memory_order_relaxed);
  }
  void set_item(std::string name);  // the current entry or model file

  // Writes `text` (whole lines, ending in '\n') on `out` with the status line
  // erased first, so a warning never lands after the half-drawn meter; the
  // next redraw brings the meter back below it. Plain write when disabled.
  void print_above(std::string_view text);

  // Stops the drawing thread and erases the line ("\r\033[K"), leaving the
  // cursor at column 0 for whatever is printed next. Idempotent.
  void finish();

  static bool stderr_is_terminal();

 private:
  void draw_until_finished();
  void draw();
  void write_raw(const std::string& text);

  const bool enabled_;
  const uint64_t total_input_;
  std::FILE* const out_;
  const std::chrono::steady_clock::time_point start_;
  std::atomic<uint64_t> in_{0};
  std::atomic<uint64_t> out_bytes_{0};

  std::mutex draw_mutex_;  // one writer on `out` at a time: drawer, print_above, finish
  std::mutex item_mutex_;
  std::string item_;

  std::mutex stop_mutex_;
  std::condition_variable stop_requested_;
  bool stopping_ = false;
  bool finished_ = false;
  std::thread drawer_;
};

// A ByteSink wrapper that counts what passes through into add_out.
class MeteredSink final : public ByteSink {
 public:
  MeteredSink(ByteSink& out, Progress& progress) : out_(out), progress_(progress) {}
  void write(const void* data, size_t size) override {
    out_.write(data, size);
    progress_.add_out(size);
  }
  using ByteSink::write;

 private:
  ByteSink& out_;
  Progress& progress_;
};

// "0 B", "1023 B", "1.0 KiB", "99.9 MiB", "512 MiB", "1.2 GiB", "3.0 TiB":
// one decimal below 100, none from 100 up.
std::string format_bytes(uint64_t bytes);

// "1:05", "59:59", "1:00:00".
std::string format_duration(uint64_t seconds);

// The status line, pure: "in 1.2 GiB  out 1.3 GiB  512 MiB/s  ETA 0:03  item".
// The rate is input bytes over `seconds`; the ETA appears only when
// total_input is known and a rate exists. The line is at most columns - 1
// wide (the item is cut to fit and ends in "…"), and control characters in
// the item, which comes from the untrusted input tar, are shown as '?'.
std::string format_status(uint64_t in, uint64_t out, double seconds, uint64_t total_input,
                          const std::string& item, size_t columns = 80);

}  // namespace olot
