// Stage 6, tar out, behind a narrow interface (SPEC §8 design note): a sink
// takes blobs of known digest and size as streams, small documents whole,
// and either commits (index.json, then the end of the archive) or aborts.
// A registry sink can take the place of the tar sink without touching the
// stages before it.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "olot/byte_sink.h"
#include "olot/digest.h"

namespace olot {

class Sink : public ByteSink {
 public:
  // A blob of the layout; its bytes follow through write().
  virtual void begin_blob(const Digest& digest, uint64_t size) = 0;
  // A file of the layout that is not a blob (docker save's manifest.json,
  // unknown root files); its bytes follow through write().
  virtual void begin_extra(const std::string& name, uint64_t size) = 0;
  virtual void end() = 0;
  // Writes index.json and seals the output. Nothing may follow.
  virtual void commit(std::string_view index_json) = 0;

  void put_blob(const Digest& digest, std::string_view bytes) {
    begin_blob(digest, bytes.size());
    write(bytes);
    end();
  }
  void put_extra(const std::string& name, std::string_view bytes) {
    begin_extra(name, bytes.size());
    write(bytes);
    end();
  }
  using ByteSink::write;
};

// Takes everything and writes nothing (--dry-run).
class NullSink final : public Sink {
 public:
  void begin_blob(const Digest&, uint64_t) override {}
  void begin_extra(const std::string&, uint64_t) override {}
  void write(const void*, size_t) override {}
  void end() override {}
  void commit(std::string_view) override {}
};

}  // namespace olot
