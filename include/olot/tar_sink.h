// The tar implementation of Sink, written with libarchive (pax where needed,
// otherwise ustar): oci-layout and the blobs/ directories first, then what
// the stages hand it, index.json and the end-of-archive blocks only on commit.
#pragma once

#include <memory>
#include <set>
#include <string>

#include "olot/sink.h"

struct archive;

namespace olot {

class TarSink final : public Sink {
 public:
  // `mtime` stamps every entry.
  TarSink(ByteSink& out, int64_t mtime);
  ~TarSink() override;  // without commit(): the archive stays unterminated

  void begin_blob(const Digest& digest, uint64_t size) override;
  void begin_extra(const std::string& name, uint64_t size) override;
  void write(const void* data, size_t size) override;
  using Sink::write;
  void end() override;
  void commit(std::string_view index_json) override;

 private:
  static long write_callback(archive*, void* self, const void* buffer, size_t size);
  void write_header(const std::string& name, uint64_t size, bool directory);
  [[noreturn]] void fail_from_archive();
  void check_output();  // throws Error(Exit::io) once the output failed

  ByteSink& out_;
  int64_t mtime_;
  std::unique_ptr<archive, int (*)(archive*)> archive_;
  std::set<std::string> directories_;
  std::string error_;  // what the write callback could not throw
  uint64_t remaining_ = 0;
  std::string current_;
  bool committed_ = false, discard_ = false;
};

}  // namespace olot
