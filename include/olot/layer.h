// Model layers (SPEC §6.2): a GNU-format tar we encode ourselves, so the
// exact same bytes come out of the hashing pass and of the writing pass, and
// the deterministic compressors that wrap it.
#pragma once

#include <array>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "olot/byte_sink.h"

namespace olot {

enum class Compression { none, gzip, zstd };

// One file in a layer (a layer may hold several, for --pack-small).
struct LayerEntry {
  std::filesystem::path source;
  std::string inlayer;  // "models/sub/w.bin"
  uint64_t size = 0;
  int64_t mtime = 0;  // already clamped by the caller
};

struct LayerSpec {
  std::vector<LayerEntry> files;
  Compression compression = Compression::none;
};

// Per-file observer of the content bytes (the file's own SHA-256 and XXH3
// are computed by the caller's observers). emit_layer_tar calls begin_file
// just before the file's first content byte goes to `out` and end_file just
// after its last, and content() with each chunk just before the same chunk
// goes to `out`: between the two calls `out` receives exactly the content,
// which is how a NestedSha256 behind `out` hashes the file inside the tar.
struct ContentObserver {
  virtual ~ContentObserver() = default;
  virtual void begin_file(size_t index) = 0;
  virtual void content(const void* data, size_t size) = 0;
  virtual void end_file(size_t index) = 0;
};

// Writes the uncompressed layer tar of `spec` into `out`, reading each file
// in 1 MiB reads. Every content byte goes to `observer` (if non-null) and to
// `out`. Throws Error(Exit::data) if a file's length is not entry.size,
// Error(Exit::no_input) if a file cannot be opened or read.
void emit_layer_tar(const LayerSpec& spec, ByteSink& out, ContentObserver* observer);

// Length of what emit_layer_tar writes, known without reading the files.
uint64_t layer_tar_size(const LayerSpec& spec);

// A ByteSink that compresses into `downstream`; the same input bytes give
// the same output bytes however they are split into write() calls.
//   gzip: zlib deflate level 6, 32 KiB window; header MTIME 0, no name,
//         OS byte 255 ("unknown", as Go's and Python's gzip write it).
//   zstd: level 3, single-threaded, content checksum on (like the zstd CLI),
//         content size never written (streaming and one-shot agree).
//   none: bytes pass through unchanged.
// finish() writes the end of the stream; it must be called exactly once.
class Compressor final : public ByteSink {
 public:
  Compressor(Compression compression, ByteSink& downstream);
  ~Compressor() override;
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;

  void write(const void* data, size_t size) override;
  using ByteSink::write;
  void finish();

  class Engine;  // zlib or zstd state

 private:
  ByteSink& downstream_;
  std::unique_ptr<Engine> engine_;  // null for Compression::none
  bool finished_ = false;
};

// "application/vnd.oci.image.layer.v1.tar", "+gzip", "+zstd".
std::string_view layer_media_type(Compression compression);

// ---- tar encoding, exposed for tests ----

inline constexpr size_t tar_block_size = 512;
using TarBlock = std::array<unsigned char, tar_block_size>;

// The 12-byte size field: 11 octal digits and a NUL, or from 8 GiB on GNU
// base-256 (0x80, then the value big-endian in the remaining 11 bytes).
std::array<unsigned char, 12> encode_size_field(uint64_t size);

struct TarHeaderFields {
  std::string_view name;  // truncated to 100 bytes in the header block
  char typeflag = '0';
  uint32_t mode = 0664;
  uint64_t size = 0;
  int64_t mtime = 0;
};

// One GNU header block: uid/gid 0, empty uname/gname, magic "ustar  \0".
TarBlock encode_tar_header(const TarHeaderFields& fields);

// The header blocks of one entry: a GNU "././@LongLink" record (typeflag 'L')
// and its name blocks first when the name is longer than 100 bytes.
std::string encode_entry_headers(const TarHeaderFields& fields);

}  // namespace olot
