// Stage 3a, blobs streamed: passed-through blobs are hashed against their
// names on a worker thread while the main thread writes them out. The main
// thread hands over copies in large chunks from a small fixed pool, so memory
// stays bounded and a slow hash applies back-pressure instead of buffering.
#pragma once

#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <thread>
#include <vector>

#include "olot/digest.h"

namespace olot {

class BlobVerifier {
 public:
  BlobVerifier();
  ~BlobVerifier();
  BlobVerifier(const BlobVerifier&) = delete;
  BlobVerifier& operator=(const BlobVerifier&) = delete;

  void begin(const Digest& expected, const std::string& entry);
  void feed(std::span<const unsigned char> data);
  void end();
  // Waits until every blob handed over is hashed; throws Error(Exit::data)
  // naming the first blob whose content does not match its name.
  void finish();
  // Throws as finish() would, if a mismatch is already known; never waits.
  void check();

 private:
  struct Job {
    enum class Kind { begin, data, end, stop } kind;
    Digest expected;
    std::string entry;
    std::vector<unsigned char> chunk;
  };
  void submit(Job job);
  void flush_chunk();
  void work();
  void throw_if_failed();

  std::mutex mutex_;
  std::condition_variable changed_;
  std::deque<Job> queue_;
  std::vector<std::vector<unsigned char>> free_chunks_;
  size_t chunks_out_ = 0;
  size_t pending_jobs_ = 0;
  std::optional<std::string> failure_;
  std::vector<unsigned char> filling_;
  std::thread worker_;
};

}  // namespace olot
