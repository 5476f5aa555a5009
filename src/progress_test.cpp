#include "olot/progress.h"

#include <gtest/gtest.h>
#include <stdlib.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <memory>
#include <string>
#include <thread>

#include "test_support.h"

namespace olot {
namespace {

constexpr uint64_t KiB = 1024, MiB = KiB * 1024, GiB = MiB * 1024;

size_t columns_of(const std::string& text) {
  return std::count_if(text.begin(), text.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; });
}

struct FileCloser {
  void operator()(std::FILE* f) const { std::fclose(f); }
};
using File = std::unique_ptr<std::FILE, FileCloser>;

std::string contents(std::FILE* f) {
  std::fflush(f);
  std::rewind(f);
  std::string text;
  char buffer[4096];
  size_t n;
  while ((n = std::fread(buffer, 1, sizeof buffer, f)) > 0) text.append(buffer, n);
  return text;
}

// A log file that can be read while the drawer is still writing to it.
class LiveLog {
 public:
  LiveLog() {
    char pattern[] = "/tmp/olot-progress-test-XXXXXX";
    int fd = mkstemp(pattern);
    path_ = pattern;
    file_.reset(fdopen(fd, "w"));
  }
  ~LiveLog() { std::remove(path_.c_str()); }
  std::FILE* file() const { return file_.get(); }
  std::string read() const {
    std::ifstream in(path_, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
  }
  // Waits (generously, for loaded machines) until the log holds `text`.
  bool wait_for(const std::string& text) const {
    auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (read().find(text) == std::string::npos) {
      if (std::chrono::steady_clock::now() > deadline) return false;
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    return true;
  }

 private:
  std::string path_;
  File file_;
};

using olot::testing::StringSink;

TEST(FormatBytes, PicksTheUnitAndPrecision) {
  EXPECT_EQ(format_bytes(0), "0 B");
  EXPECT_EQ(format_bytes(1023), "1023 B");
  EXPECT_EQ(format_bytes(1024), "1.0 KiB");
  EXPECT_EQ(format_bytes(1536), "1.5 KiB");
  EXPECT_EQ(format_bytes(99 * MiB + 900 * KiB), "99.9 MiB");
  EXPECT_EQ(format_bytes(512 * MiB), "512 MiB");
  EXPECT_EQ(format_bytes(GiB + GiB / 5), "1.2 GiB");
  EXPECT_EQ(format_bytes(3 * GiB * 1024), "3.0 TiB");
}

TEST(FormatBytes, NeverPrints1024OfAUnit) {
  EXPECT_EQ(format_bytes(MiB - 1), "1.0 MiB");
  EXPECT_EQ(format_bytes(1023 * KiB), "1023 KiB");
}

TEST(FormatDuration, MinutesThenHours) {
  EXPECT_EQ(format_duration(0), "0:00");
  EXPECT_EQ(format_duration(65), "1:05");
  EXPECT_EQ(format_duration(3599), "59:59");
  EXPECT_EQ(format_duration(3600), "1:00:00");
  EXPECT_EQ(format_duration(3 * 3600 + 62), "3:01:02");
}

TEST(FormatStatus, WithoutTotalHasNoEta) {
  EXPECT_EQ(format_status(GiB + GiB / 5, GiB + GiB * 3 / 10, 2.4, 0, ""), "in 1.2 GiB  out 1.3 GiB  512 MiB/s");
}

TEST(FormatStatus, RateIsInputOverSeconds) {
  EXPECT_EQ(format_status(10 * MiB, 0, 4, 0, ""), "in 10.0 MiB  out 0 B  2.5 MiB/s");
  EXPECT_EQ(format_status(10 * MiB, 0, 0, 0, ""), "in 10.0 MiB  out 0 B  0 B/s");
}

TEST(FormatStatus, EtaWhenTotalKnown) {
  // 512 MiB/s with 1.5 GiB left: 3 s.
  EXPECT_EQ(format_status(GiB, GiB, 2, GiB * 5 / 2, "blobs/sha256/ab12"),
            "in 1.0 GiB  out 1.0 GiB  512 MiB/s  ETA 0:03  blobs/sha256/ab12");
  EXPECT_EQ(format_status(2 * MiB, 0, 1, 2 * MiB, ""), "in 2.0 MiB  out 0 B  2.0 MiB/s  ETA 0:00");
  EXPECT_EQ(format_status(4 * MiB, 0, 1, 2 * MiB, ""), "in 4.0 MiB  out 0 B  4.0 MiB/s  ETA 0:00");
  // No rate yet: no ETA rather than an infinite one.
  EXPECT_EQ(format_status(0, 0, 0.1, GiB, ""), "in 0 B  out 0 B  0 B/s");
}

TEST(FormatStatus, LongItemIsCutToFitEightyColumns) {
  std::string item = "blobs/sha256/" + std::string(64, 'a');
  auto line = format_status(GiB, GiB, 2, GiB * 5 / 2, item);
  // 46 columns of counters, 32 of the item, the ellipsis: 79.
  EXPECT_EQ(line, "in 1.0 GiB  out 1.0 GiB  512 MiB/s  ETA 0:03  blobs/sha256/" + std::string(19, 'a') + "\u2026");
  EXPECT_EQ(columns_of(line), 79u);
}

TEST(FormatStatus, ItemThatJustFitsIsKeptWhole) {
  std::string head = "in 0 B  out 0 B  0 B/s  ";
  std::string item(79 - head.size(), 'x');
  EXPECT_EQ(format_status(0, 0, 0, 0, item), head + item);
  EXPECT_EQ(format_status(0, 0, 0, 0, item + "y"), head + item.substr(1) + "\u2026");
}

TEST(FormatStatus, CutsBetweenCharactersNotInsideThem) {
  std::string item;
  for (int i = 0; i < 80; ++i) item += "\u00e9";  // 2 bytes each
  auto line = format_status(0, 0, 0, 0, item);
  EXPECT_EQ(columns_of(line), 79u);
  EXPECT_EQ(line.substr(line.size() - 5), "\u00e9\u2026");
}

TEST(FormatStatus, NarrowTerminal) {
  EXPECT_EQ(format_status(0, 0, 0, 0, "model.bin", 20), "in 0 B  out 0 B  0\u2026");
  EXPECT_EQ(format_status(0, 0, 0, 0, "model.bin", 0), "");
}

TEST(FormatStatus, ControlCharactersInTheItemAreNeutralised) {
  EXPECT_EQ(format_status(0, 0, 0, 0, "a\033[2Jb\nc\x7f" "d\xc2\x9b" "e\u00e9"),
            "in 0 B  out 0 B  0 B/s  a?[2Jb?c?d?e\u00e9");
}

TEST(Progress, DisabledWritesNothing) {
  File f(std::tmpfile());
  ASSERT_TRUE(f);
  {
    Progress progress(false, 1000, f.get());
    progress.add_in(10);
    progress.add_out(10);
    progress.set_item("x");
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    progress.finish();
  }
  EXPECT_EQ(contents(f.get()), "");
}

TEST(Progress, RedrawsAtMostFourTimesASecondAndErasesAtTheEnd) {
  File f(std::tmpfile());
  ASSERT_TRUE(f);
  {
    Progress progress(true, 100 * MiB, f.get());
    auto end = std::chrono::steady_clock::now() + std::chrono::seconds(1);
    for (int i = 0; std::chrono::steady_clock::now() < end; ++i) {
      progress.add_in(KiB);
      progress.add_out(KiB);
      progress.set_item("file" + std::to_string(i % 10));
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
  }
  auto text = contents(f.get());
  auto redraws = std::count(text.begin(), text.end(), '\r');
  EXPECT_GE(redraws, 2);  // ~4 redraws and the erase; fewer on a loaded machine
  EXPECT_LE(redraws, 6);
  EXPECT_EQ(text.substr(0, 4), "\rin ");
  EXPECT_NE(text.find("  file"), std::string::npos);
  EXPECT_EQ(text.find('\n'), std::string::npos);
  ASSERT_GE(text.size(), 4u);
  EXPECT_EQ(text.substr(text.size() - 4), "\r\033[K");
}

TEST(Progress, FinishIsIdempotentAndStopsDrawing) {
  File f(std::tmpfile());
  ASSERT_TRUE(f);
  Progress progress(true, 0, f.get());
  progress.finish();
  progress.finish();
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  progress.add_in(1);
  EXPECT_EQ(contents(f.get()), "\r\033[K");
}

TEST(Progress, PrintAboveErasesTheMeterFirst) {
  LiveLog log;
  {
    Progress progress(true, 0, log.file());
    progress.add_in(2048);
    ASSERT_TRUE(log.wait_for("\rin 2.0 KiB"));
    progress.print_above("olot-filter: warning: w\n");
  }
  auto text = log.read();
  std::string tail = "\r\033[Kolot-filter: warning: w\n\r\033[K";
  EXPECT_TRUE(text.ends_with(tail)) << text;
  EXPECT_EQ(text.substr(0, 11), "\rin 2.0 KiB");
}

TEST(Progress, PrintAboveWhenDisabledIsAPlainWrite) {
  File f(std::tmpfile());
  ASSERT_TRUE(f);
  Progress progress(false, 0, f.get());
  progress.print_above("note\n");
  EXPECT_EQ(contents(f.get()), "note\n");
}

TEST(MeteredSink, PassesBytesThroughAndCountsThem) {
  LiveLog log;
  StringSink out;
  Progress progress(true, 0, log.file());
  MeteredSink metered(out, progress);
  metered.write("hello");
  metered.write(std::string(3 * KiB, 'x'));
  EXPECT_EQ(out.bytes, "hello" + std::string(3 * KiB, 'x'));
  EXPECT_TRUE(log.wait_for("out 3.0 KiB"));
}

}  // namespace
}  // namespace olot
