// The one-way byte stream every stage writes into: hashers, compressors,
// counters and the output tar all take bytes through this interface, so a
// layer is produced by the same code whether it is being hashed or written.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace olot {

class ByteSink {
 public:
  virtual ~ByteSink() = default;
  virtual void write(const void* data, size_t size) = 0;
  void write(std::string_view s) { write(s.data(), s.size()); }
};

// Discards bytes but counts them.
class CountingSink final : public ByteSink {
 public:
  void write(const void*, size_t size) override { count_ += size; }
  uint64_t count() const { return count_; }

 private:
  uint64_t count_ = 0;
};

}  // namespace olot

namespace olot {

// Sends every byte to two sinks.
class TeeSink final : public ByteSink {
 public:
  TeeSink(ByteSink& a, ByteSink& b) : a_(a), b_(b) {}
  void write(const void* data, size_t size) override {
    a_.write(data, size);
    b_.write(data, size);
  }
  using ByteSink::write;

 private:
  ByteSink& a_;
  ByteSink& b_;
};

}  // namespace olot
