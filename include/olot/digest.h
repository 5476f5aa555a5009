// Content digests: "sha256:<hex>" / "sha512:<hex>" names, streaming SHA-2
// through OpenSSL, and XXH3-128 for the fast re-check of model files.
#pragma once

#include <array>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "olot/byte_sink.h"

struct evp_md_ctx_st;
struct XXH3_state_s;

namespace olot {

enum class DigestAlg { sha256, sha512 };

std::string_view alg_name(DigestAlg alg);
size_t hex_length(DigestAlg alg);  // 64 or 128
std::optional<DigestAlg> alg_from_name(std::string_view name);

struct Digest {
  DigestAlg alg = DigestAlg::sha256;
  std::string hex;  // lowercase

  std::string str() const;        // "sha256:abc..."
  std::string blob_path() const;  // "blobs/sha256/abc..."
  bool empty() const { return hex.empty(); }
  bool operator==(const Digest&) const = default;
  auto operator<=>(const Digest&) const = default;

  // Parses "alg:hex"; nullopt unless the algorithm is known and hex has the
  // right length and is lowercase.
  static std::optional<Digest> parse(std::string_view text);
};

// Streaming SHA-256 or SHA-512.
class Hasher final : public ByteSink {
 public:
  explicit Hasher(DigestAlg alg = DigestAlg::sha256);
  ~Hasher() override;
  Hasher(Hasher&&) noexcept;
  Hasher& operator=(Hasher&&) noexcept;

  void write(const void* data, size_t size) override;
  using ByteSink::write;
  Digest finish();  // the hasher may be reused after finish()
  DigestAlg alg() const { return alg_; }

 private:
  void reset();
  DigestAlg alg_;
  std::unique_ptr<evp_md_ctx_st, void (*)(evp_md_ctx_st*)> ctx_;
};

Digest digest_of(std::string_view bytes, DigestAlg alg = DigestAlg::sha256);

// XXH3-128, as 16 bytes.
using Xxh128 = std::array<unsigned char, 16>;

class Xxh3Hasher final : public ByteSink {
 public:
  Xxh3Hasher();
  ~Xxh3Hasher() override;
  Xxh3Hasher(Xxh3Hasher&&) noexcept;
  Xxh3Hasher& operator=(Xxh3Hasher&&) noexcept;
  void write(const void* data, size_t size) override;
  using ByteSink::write;
  Xxh128 finish() const;

 private:
  std::unique_ptr<XXH3_state_s, void (*)(XXH3_state_s*)> state_;
};

std::string to_hex(const unsigned char* bytes, size_t size);

}  // namespace olot
