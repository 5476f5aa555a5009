#include "olot/progress.h"

#include "olot/output.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <cmath>
#include <utility>

namespace olot {

namespace {

constexpr auto redraw_interval = std::chrono::milliseconds(250);
constexpr size_t default_columns = 80;
constexpr std::string_view ellipsis = "\u2026";
constexpr std::string_view erase_line = "\r\033[K";

bool is_utf8_continuation(unsigned char c) { return (c & 0xC0) == 0x80; }

// Entry names come from the input tar: a name holding escape sequences must
// not be able to drive the user's terminal. UTF-8-encoded C1 controls
// (U+0080..U+009F, "\xC2\x80".."\xC2\x9F") are just as dangerous as C0 ones.
std::string printable(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    auto c = static_cast<unsigned char>(text[i]);
    bool c1 = c == 0xC2 && i + 1 < text.size() && static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
              static_cast<unsigned char>(text[i + 1]) <= 0x9F;
    if (c < 0x20 || c == 0x7F) {
      out += '?';
    } else if (c1) {
      out += '?';
      ++i;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out;
}

// One column per code point: right for the paths we show, and it never cuts
// a multi-byte character in half.
size_t columns_of(std::string_view text) {
  size_t n = 0;
  for (char c : text) n += !is_utf8_continuation(static_cast<unsigned char>(c));
  return n;
}

// The longest prefix of `text` that is at most `columns` code points wide.
std::string_view first_columns(std::string_view text, size_t columns) {
  size_t seen = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (is_utf8_continuation(static_cast<unsigned char>(text[i]))) continue;
    if (seen == columns) return text.substr(0, i);
    ++seen;
  }
  return text;
}

std::string fit(std::string_view text, size_t columns) {
  if (columns_of(text) <= columns) return std::string(text);
  if (columns == 0) return {};
  return std::string(first_columns(text, columns - 1)) + std::string(ellipsis);
}

std::string eta_field(uint64_t in, double rate, uint64_t total_input) {
  if (total_input == 0 || rate <= 0) return {};
  uint64_t left = in >= total_input ? 0 : total_input - in;
  return "ETA " + format_duration(static_cast<uint64_t>(std::ceil(static_cast<double>(left) / rate)));
}

size_t terminal_columns(std::FILE* out) {
  winsize size{};
  if (ioctl(fileno(out), TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return default_columns;
}

}  // namespace

std::string format_bytes(uint64_t bytes) {
  static constexpr const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double value = static_cast<double>(bytes);
  size_t unit = 0;
  // 1023.5 rather than 1024, so that what would print as "1024 KiB" prints as "1.0 MiB".
  while (value >= 1023.5 && unit + 1 < std::size(units)) {
    value /= 1024;
    ++unit;
  }
  char text[32];
  if (unit == 0)
    std::snprintf(text, sizeof text, "%llu B", static_cast<unsigned long long>(bytes));
  else
    std::snprintf(text, sizeof text, value < 99.95 ? "%.1f %s" : "%.0f %s", value, units[unit]);
  return text;
}

std::string format_duration(uint64_t seconds) {
  char text[48];
  auto h = static_cast<unsigned long long>(seconds / 3600);
  auto m = static_cast<unsigned long long>(seconds / 60 % 60);
  auto s = static_cast<unsigned long long>(seconds % 60);
  if (h > 0)
    std::snprintf(text, sizeof text, "%llu:%02llu:%02llu", h, m, s);
  else
    std::snprintf(text, sizeof text, "%llu:%02llu", m, s);
  return text;
}

std::string format_status(uint64_t in, uint64_t out, double seconds, uint64_t total_input,
                          const std::string& item, size_t columns) {
  // Never into the last column: some terminals wrap as soon as it is
  // written, and "\r" would then return to the wrong row.
  size_t width = columns > 0 ? columns - 1 : 0;
  double rate = seconds > 0 ? static_cast<double>(in) / seconds : 0;
  std::string line = "in " + format_bytes(in) + "  out " + format_bytes(out) + "  " +
                     format_bytes(static_cast<uint64_t>(rate)) + "/s";
  if (auto eta = eta_field(in, rate, total_input); !eta.empty()) line += "  " + eta;
  if (!item.empty() && line.size() + 2 < width) line += "  " + fit(printable(item), width - line.size() - 2);
  return fit(line, width);
}

Progress::Progress(bool enabled, uint64_t total_input, std::FILE* out)
    : enabled_(enabled), total_input_(total_input), out_(out), start_(std::chrono::steady_clock::now()) {
  if (!enabled_) return;
  erase_status_line_on_signal(fileno(out_));
  drawer_ = std::thread([this] { draw_until_finished(); });
}

Progress::~Progress() { finish(); }

void Progress::set_item(std::string name) {
  if (!enabled_) return;
  std::lock_guard lock(item_mutex_);
  item_ = std::move(name);
}

void Progress::print_above(std::string_view text) {
  if (!enabled_) {
    std::fwrite(text.data(), 1, text.size(), out_);
    return;
  }
  write_raw(std::string(erase_line) + std::string(text));
}

void Progress::finish() {
  if (!enabled_) return;
  {
    std::lock_guard lock(stop_mutex_);
    if (finished_) return;
    finished_ = stopping_ = true;
  }
  stop_requested_.notify_all();
  if (drawer_.joinable()) drawer_.join();
  write_raw(std::string(erase_line));
  erase_status_line_on_signal(-1);
}

bool Progress::stderr_is_terminal() { return isatty(STDERR_FILENO) == 1; }

// The next redraw is scheduled from the end of the last one, so a terminal
// that blocked for a while (^S) gets no burst of catch-up redraws.
void Progress::draw_until_finished() {
  std::unique_lock lock(stop_mutex_);
  while (!stop_requested_.wait_for(lock, redraw_interval, [this] { return stopping_; })) {
    lock.unlock();
    draw();
    lock.lock();
  }
}

void Progress::draw() {
  std::string item;
  {
    std::lock_guard lock(item_mutex_);
    item = item_;
  }
  std::chrono::duration<double> elapsed = std::chrono::steady_clock::now() - start_;
  auto status = format_status(in_.load(std::memory_order_relaxed), out_bytes_.load(std::memory_order_relaxed),
                              elapsed.count(), total_input_, item, terminal_columns(out_));
  write_raw("\r" + status + "\033[K");
}

// A failing stderr must not fail the run; the meter just stops showing.
void Progress::write_raw(const std::string& text) {
  std::lock_guard lock(draw_mutex_);
  std::fwrite(text.data(), 1, text.size(), out_);
  std::fflush(out_);
}

}  // namespace olot
