// SHA-256 of a stream and, at the same time, of one stretch of it at a time:
// a model layer's tar and each file inside it (SPEC §10 needs both digests).
// A file's content starts on a tar block boundary, so both hashes consume the
// same 64-byte message blocks; with SHA-NI the two states advance in one
// instruction stream that shares the message schedule, and both digests cost
// about 1.3 times one (two OpenSSL passes cost 2).
#pragma once

#include <memory>

#include "olot/byte_sink.h"
#include "olot/digest.h"

namespace olot {

class NestedSha256 final : public ByteSink {
 public:
  enum class Engine {
    best,     // SHA-NI when this CPU has it, else OpenSSL
    openssl,  // two OpenSSL contexts (the fallback, selectable for tests)
  };
  explicit NestedSha256(Engine engine = Engine::best);
  ~NestedSha256() override;
  NestedSha256(const NestedSha256&) = delete;
  NestedSha256& operator=(const NestedSha256&) = delete;

  // Bytes of the stream; also of the stretch while one is open.
  void write(const void* data, size_t size) override;
  using ByteSink::write;
  void open_stretch();
  Digest close_stretch();  // the stretch's digest; call only while one is open
  Digest finish();         // the whole stream's digest; call once, after the last stretch closed

  class Lanes;  // the engine's state

 private:
  std::unique_ptr<Lanes> lanes_;
  bool stretch_open_ = false;
};

// True when NestedSha256's best engine is SHA-NI on this CPU.
bool sha_ni_available();

}  // namespace olot
